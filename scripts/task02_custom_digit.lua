-- Task 2: the trained model reads digits that are not from MNIST.
-- Each PNG in data/custom (or the files given as arguments; the label is the
-- first digit of the file name) is preprocessed like MNIST; the steps are
-- shown side by side with the probabilities of the baseline models.
local S = wb.study
local task = wb.task{name = "task02_custom_digit",
  title = "Task 2: custom handwritten digits"}
local runs = S.baseline(task)

local files = task.opts.rest
if #files == 0 then
  for _, f in ipairs(wb.sys.listdir(wb.luadir .. "/../../data/custom")) do
    if f:match("%.png$") then files[#files + 1] = wb.luadir .. "/../../data/custom/" .. f end
  end
end
local models = {}
for i, r in ipairs(runs.records) do models[i] = S.model(r, task.opts.root) end
if #models == 0 then task:finish() return end

task:section("Digits, preprocessing and predictions")
task:text(string.format("%d images; preprocessing: invert a light background, crop to the "
  .. "ink, scale the longer side to 20 px, centre of mass at the centre of 28x28. "
  .. "Probabilities are the mean over %d seeds.", #files, #models))
task:text("| file | label | predicted | probability | correct |\n|---|---|---|---|---|")
local by_step, bars, right = {}, {}, 0
local steps = {"input", "inverted", "cropped", "scaled", "centred"}
for k, path in ipairs(files) do
  local img = wb.image.load(path)
  local x, st = wb.image.to_mnist(img, {steps = true})
  -- tiles are drawn ink-dark (high = black): show the input as the file looks
  st.input = wb.image.invert(img)
  for i, s in ipairs(steps) do
    by_step[i] = by_step[i] or {}
    by_step[i][k] = wb.image.fit(st[s], 28, 28):reshape(784) -- keeps the aspect ratio
  end
  local mean = wb.zeros(1, 10)
  for _, m in ipairs(models) do mean = mean + m:predict(x) end
  mean = mean / #models
  local probs = mean:reshape(10):totable()
  local best = mean:argmax(2):get(1) - 1
  local label = tonumber(path:match("([0-9])[^/]*$"))
  right = right + (best == label and 1 or 0)
  task:text(string.format("| %s | %s | %d | %.3f | %s |", path:match("[^/]+$"),
    tostring(label or "?"), best, probs[best + 1], best == label and "yes" or "no"))
  bars[#bars + 1] = wb.plot.bars{title = string.format("%s: pred %d", path:match("[^/]+$"),
    best), labels = S.classes, values = probs, yrange = {0, 1}}
end
local stack, caps = wb.zeros(#steps * #files, 784), {}
for i, s in ipairs(steps) do
  for k, path in ipairs(files) do
    stack[(i - 1) * #files + k] = by_step[i][k]
    caps[#caps + 1] = i == 1 and path:match("([^/]+)%.png$") or s
  end
end
task:figure("preprocessing", wb.plot.images{title = "MNIST-style preprocessing: the file, "
  .. "inverted, cropped to the ink, scaled to 20 px, centred by mass in 28x28",
  tiles = stack, rows = #steps, cols = #files, labels = caps})
task:figure("probabilities", wb.plot.panels{title = "Predicted probabilities (mean over "
  .. "seeds)", cols = 4, plots = bars})
task:section("Findings (computed)")
task:text(string.format("- %d of %d custom digits are read correctly by the baseline "
  .. "(%s).", right, #files, S.pct(right / #files)))
task:finish()
