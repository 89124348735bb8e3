-- ModelCheckpoint{save_best_only}: the best so far carries over to another
-- fit of the same model, as Keras's (its best is set once, when made), and
-- starts afresh for another model (audit Y3: a second fit's first epoch,
-- worse, overwrote the best file of the first fit).
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()
local data = T.synthetic(77, 120, 8)

local function model()
  return wb.nn.Sequential{wb.nn.Dense(8, 6, {activation = "relu"}),
    wb.nn.Dense(6, 3, {activation = "softmax"})}
end
local function fit(m, ck, lr, epochs)
  return m:fit(data, {epochs = epochs, verbose = false, validation_split = 0.25, seed = 3,
    optimizer = wb.optim.SGD{lr = lr}, callbacks = {ck}})
end

T.test("a second, worse fit of the same model keeps the best file; another model starts afresh",
    function()
  wb.seed(1)
  local m = model()
  local path = dir .. "/best.safetensors"
  local ck = wb.callbacks.ModelCheckpoint{path, save_best_only = true}
  local h = fit(m, ck, 0.3, 4)
  local best = math.huge
  for _, v in ipairs(h.val_loss) do best = math.min(best, v) end
  local bytes = T.slurp(path)
  -- a learning rate that makes it worse: no epoch beats the first fit's best
  local h2 = fit(m, ck, 50, 1)
  T.ok(h2.val_loss[1] > best, "the second fit is worse: " .. h2.val_loss[1] .. " vs " .. best)
  T.eq(T.slurp(path) == bytes, true, "the best file was overwritten by a worse model")
  -- another model: its first epoch is its best so far
  wb.seed(2)
  fit(model(), ck, 50, 1)
  T.ok(T.slurp(path) ~= bytes, "another model's first epoch is saved")
end)

-- A bare {loss} is Python's str(float), as Keras names its files: it was
-- "%.4g" (2.287), so two epochs whose losses agreed to 4 digits wrote one
-- file, the later over the earlier (a new user's tryD 7).
T.test("a bare float field is written as Python's repr, an integer as its digits", function()
  wb.seed(1)
  local m = model()
  local ck = wb.callbacks.ModelCheckpoint{dir .. "/e{epoch}-{loss}.safetensors"}
  local h = fit(m, ck, 0.3, 2)
  for e = 1, 2 do
    local want = string.format("%s/e%d-%s.safetensors", dir, e,
      require("wb.pyformat").format(h.loss[e], ""))
    T.ok(wb.sys.kind(want) == "file", want)
    T.eq(tonumber(want:match("%-([^-]+)%.safetensors$")), h.loss[e], "reads back exactly")
  end
end)

T.done()
