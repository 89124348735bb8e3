-- test_hess_max_unconverged.lua: hess_max's unconverged warning is said
-- once per fit, also in a fit resumed (fit{resume = path}) from a state
-- whose history already counts unconverged measurements: it was said when
-- the count reached 1, which such a fit never does. As test_hess_max_dead's
-- last test, resid_max is lowered (to 3e-4, below what most measurements
-- reach) so that some measurements stay above it even when redone cold.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local B = 16
local d = wb.data.mnist().train:subset(1, 20 * B)
local dir = T.tmpdir()
local WARNING = "hess_max at step %d+ did not converge"

local function model()
  wb.seed(2)
  return wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
end

-- fit's history and the warnings it said on stderr, at resid_max 3e-4
local function fit(m, epochs, resume)
  local L = wb.instruments._LANCZOS
  local keep = L.resid_max
  L.resid_max = 3e-4
  local ok, h, said = pcall(T.stderr_of, function()
    return m:fit(d, {epochs = epochs, batch_size = B, shuffle = false, seed = 2,
      verbose = false, optimizer = wb.optim.SGD{lr = 0.5}, instruments = {"hess_max"},
      every = 1, resume = resume})
  end)
  L.resid_max = keep
  if not ok then error(h, 0) end
  local _, n = said:gsub(WARNING, "")
  return h, n, said
end

T.test("a resumed fit that already counts unconverged warns once at a new one", function()
  local m = model()
  local h1, n1 = fit(m, 1)
  local u1 = h1.instruments.hess_max.unconverged
  T.ok(u1 >= 1, "the first part counts unconverged measurements: " .. u1)
  T.eq(n1, 1, "the first part warned once")
  local path = dir .. "/part1.safetensors"
  m:save_state(path)
  local h2, n2, said = fit(model(), 2, path)
  local u2 = h2.instruments.hess_max.unconverged
  T.ok(u2 > u1, string.format("the resumed part has new unconverged ones: %d, then %d", u1, u2))
  T.eq(n2, 1, "the resumed part warned once: " .. said)
end)

T.done()
