-- Task 2: the trained model reads digits that are not from MNIST.
-- Each PNG (.png in any case) in data/custom (or the files given as
-- arguments; the label is the first digit of the file name; none:
-- unlabelled) is preprocessed like MNIST; the steps are shown side by side
-- with the probabilities of the baseline models. The files are checked
-- before anything trains: one that cannot be read is left out and named
-- (the task then exits 1); none readable: nothing trains.
local S = require "study"
local util = require "wb.util"

-- The PNG files: the command line's other arguments, else data/custom; each
-- read now, before anything trains. Returns the readable ones and the others
-- ({path, why}: left out, named in the README and on stderr, exit status 1);
-- none readable: refused (nothing trained or written).
local function digit_files()
  local ok, opts = pcall(wb.runner.options, rawget(_G, "arg") or {})
  local files = ok and opts.rest or {}
  if #files == 0 then
    -- data/custom, from here when it is under here (the README's rows give
    -- each file's path: ".../bindings/lua/../../data/custom/0_grey8.png")
    local d = wb.luadir .. "/../../data/custom"
    d = wb.sys.realpath(d) or d
    local here = wb.sys.realpath(".")
    if here and d:sub(1, #here + 1) == here .. "/" then d = d:sub(#here + 2) end
    files = wb.image.png_files(d)
  end
  local good, bad = {}, {}
  for _, path in ipairs(files) do
    local ok, e = pcall(function()
      if not wb.sys.exists(path) then wb.sys.fail("ENOENT", path .. ": no such file") end
      wb.image.to_mnist(wb.image.load(path))
    end)
    if ok then
      good[#good + 1] = path
    else
      wb.sys.check_interrupt()
      -- why, without the Lua position and the path the error begins with
      local why = tostring(e):gsub("^[^:]*:%d+: ", "")
      if why:sub(1, #path + 2) == path .. ": " then why = why:sub(#path + 3) end
      bad[#bad + 1] = {path = path, why = why, code = wb.is_error(e) and e.code or nil}
    end
  end
  if #good == 0 and #bad > 0 then
    -- the user's files are at fault: one message, no traceback (as for a
    -- declaration's error), the first file's status
    local lines = {}
    for i, b in ipairs(bad) do lines[i] = b.path .. ": " .. b.why end
    error(wb.spec.input_error("task02_custom_digit: " .. (#bad == 1 and lines[1]
      or string.format("none of the %d PNG files could be read as a digit; nothing trained or "
      .. "written:\n  %s", #bad, table.concat(lines, "\n  "))), bad[1].code), 0)
  end
  return good, bad
end
local FILES, UNREADABLE = digit_files()

-- The files left out, for the README (a list), each said on stderr too
-- (task:problem: the task exits 1 once its figures and README are written).
local function unreadable(task)
  if #UNREADABLE == 0 then return end
  local items = {}
  for i, b in ipairs(UNREADABLE) do
    task:problem(string.format("%s: %s; left out of the table and figures", b.path, b.why))
    items[i] = string.format("- %s: %s", util.md_cell(b.path), util.md_cell(b.why))
  end
  task:text(string.format("**%d file%s could not be read, left out of the table and the "
    .. "figures** (the task's exit status is 1):\n\n%s", #UNREADABLE,
    #UNREADABLE == 1 and "" or "s", table.concat(items, "\n")))
end

local function report(task, runs)
  -- the finished runs' models (a diverged run has none; counted below)
  local models, done, n_out = {}, S.finished(runs.records)
  for i, r in ipairs(done) do models[i] = r:model() end
  if #models == 0 then
    if n_out > 0 then task:text("No run finished: no predictions.") end
    unreadable(task)
    return
  end
  task:section("Digits, preprocessing and predictions")
  unreadable(task)
  task:text(string.format("%d images; preprocessing: invert a light background, crop to the "
    .. "ink, scale the longer side to 20 px, centre of mass at the centre of 28x28. "
    .. "Probabilities are %s%s.", #FILES, #models == 1 and "one seed's"
    or string.format("the mean over %d seeds", #models), n_out > 0
    and string.format(" (%d more did not finish: left out)", n_out) or ""))
  local rows = {"| file | label | predicted | probability | correct | path given (its panel) |",
    "|---|---|---|---|---|---|"}
  local by_step, step_label, bars, right, labelled = {}, {}, {}, 0, 0
  local steps = {"input", "inverted", "cropped", "scaled", "centred"}
  for k, path in ipairs(FILES) do
    -- the input as the file looks and to_mnist's steps, each 28x28 (aspect kept)
    local tiles, labels, x = wb.image.steps_tiles(wb.image.load(path), 28)
    for i = 1, #steps do
      by_step[i] = by_step[i] or {}
      by_step[i][k] = tiles:row(i):reshape(784)
    end
    -- a dark page is not inverted: its panel says so
    step_label[k] = labels[2]
    local mean = wb.zeros(1, 10)
    for _, m in ipairs(models) do mean = mean + m:predict(x) end
    mean = mean / #models
    local probs = mean:reshape(10):totable()
    local best = mean:argmax(2):get(1) - 1
    local name = path:match("[^/]+$")
    local label = tonumber(name:match("^%D*(%d)"))
    if label then
      labelled = labelled + 1
      right = right + (best == label and 1 or 0)
    end
    -- the name escaped: a "|" in it split the row, "*" or "_" made emphasis
    local csv = string.format("probabilities-%d.csv", k)
    rows[#rows + 1] = string.format("| %s | %s | %d | %.3f | %s | %s (%s) |",
      util.md_cell(name), label and tostring(label) or "none", best, probs[best + 1],
      label and (best == label and "yes" or "no") or "unlabelled", util.md_cell(path), csv)
    -- which file the panel is: its CSV alone said only "label,value"
    bars[#bars + 1] = wb.plot.bars{title = string.format("%s: pred %d", name, best),
      labels = S.classes, values = probs, yrange = {0, 1}, comment = string.format(
      "%s: panel %d of probabilities.png, the PNG file %s", csv, k, path)}
  end
  task:text(table.concat(rows, "\n"))
  local stack, caps = wb.zeros(#steps * #FILES, 784), {}
  for i, s in ipairs(steps) do
    for k, path in ipairs(FILES) do
      stack[(i - 1) * #FILES + k] = by_step[i][k]
      -- the file's name, .png in any case left out (a .PNG was "input")
      caps[#caps + 1] = i == 1 and (path:match("[^/]+$"):gsub("%.[pP][nN][gG]$", ""))
        or i == 2 and step_label[k] or s
    end
  end
  task:figure("preprocessing", wb.plot.images{title = "MNIST-style preprocessing: the file "
    .. "as it looks, then what the model reads (ink white on black): inverted, cropped to "
    .. "the ink, scaled to 20 px, centred by mass in 28x28",
    tiles = stack, rows = #steps, cols = #FILES, labels = caps})
  task:figure("probabilities", wb.plot.panels{title = "Predicted probabilities ("
    .. (#models == 1 and "one seed" or "mean over " .. #models .. " seeds") .. ")", cols = 4,
    plots = bars})
  task:section("Findings (computed)")
  task:text(string.format("- %d of %d labelled custom digits are read correctly by the "
    .. "baseline (%s)%s.", right, labelled, labelled > 0 and S.pct(right / labelled) or "n/a",
    #FILES > labelled and string.format("; %d unlabelled (no digit in the file name) are "
    .. "left out", #FILES - labelled) or ""))
end

return wb.task{name = "task02_custom_digit", title = "Task 2: custom handwritten digits",
  intro = "Each PNG file given (else each .png, in any case, in data/custom) is "
    .. "preprocessed like MNIST and read by the baseline models. A file's label is the "
    .. "first digit in its name (7_mine.png and mine7.png: 7; seven.png: unlabelled, shown "
    .. "but not counted). A file that cannot be read as a digit is left out, named in the "
    .. "README and on stderr (the task then exits 1); when none can be, nothing is trained.",
  args = "[PNG files]", experiment = S.baseline(), report = report}
