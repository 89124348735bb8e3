-- test_hess_max_rerun.lua: a fit with hess_max at every step, run again in
-- the same process and in another one (same code, data, seeds, config, one
-- BLAS thread), gives the same history: every series of history.steps and
-- every number of history.instruments.hess_max, its product count included.
-- The fit is the one where 1911 and 1915 products were once reported for
-- one build (a 784-128-10 relu MNIST fit at lr 3, its ReLUs dying, L2 on the
-- first layer: Krylov spaces that end early and restart, core/hvp_band.c);
-- the two counts came from two builds (before and after hvp_band's restart),
-- not from one build run twice.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

-- The fit's history as text: every step series (%a) and hess_max's record
-- (no timings in either: those are history.instruments.seconds), keys sorted.
local SRC = [[
local wb = require "wb"
local d = wb.data.mnist().train:subset(1, 6400)
wb.seed(2)
local m = wb.nn.Sequential{wb.nn.Dense(784, 128, {activation = "relu", l2 = 1e-3}),
  wb.nn.Dense(128, 10, {activation = "softmax"})}
local h = m:fit(d:float_images(), d.labels, {epochs = 1, batch_size = 32, verbose = false,
  seed = 1, optimizer = wb.optim.SGD{lr = 3}, instruments = {"hess_max"}, every = 1})
local out = {}
local function put(name, t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "table" then
      local s = {}
      for i = 1, #v do s[i] = string.format("%a", v[i]) end
      out[#out + 1] = name .. k .. " " .. table.concat(s, " ")
    elseif type(v) == "number" then
      out[#out + 1] = name .. k .. " " .. string.format("%a", v)
    else
      out[#out + 1] = name .. k .. " " .. tostring(v)
    end
  end
end
put("steps.", h.steps)
put("hess_max.", h.instruments.hess_max)
return table.concat(out, "\n"), h.instruments.hess_max.products
]]

local fit = assert(load(SRC, "=fit"))

-- The first line where texts a and b differ (nil: none), cut to 200 columns.
local function first_diff(a, b)
  local la, lb = {}, {}
  for l in (a .. "\n"):gmatch("(.-)\n") do la[#la + 1] = l end
  for l in (b .. "\n"):gmatch("(.-)\n") do lb[#lb + 1] = l end
  for i = 1, math.max(#la, #lb) do
    if la[i] ~= lb[i] then
      return tostring(la[i]):sub(1, 200) .. "\n vs " .. tostring(lb[i]):sub(1, 200)
    end
  end
end

T.test("hess_max: the same fit twice in one process gives the same history", function()
  wb.sys.set_blas_threads(1)
  local a, na = fit()
  local b, nb = fit()
  T.ok(a:find("steps.hess_max_residual ", 1, true), "the residual series is compared")
  T.ok(na > 200, "products counted: " .. na)
  T.eq(nb, na, "products")
  T.eq(first_diff(a, b), nil, "every series and the record")
end)

T.test("hess_max: the same fit in another process gives the same history", function()
  local dir = T.tmpdir()
  local f = assert(io.open(dir .. "/fit.lua", "w"))
  f:write("local text = (load(", string.format("%q", SRC), "))()\n",
    "local o = assert(io.open(arg[1], 'w')) o:write(text) o:close()\n")
  f:close()
  wb.sys.set_blas_threads(1)
  local here, n = fit()
  for i = 1, 2 do
    local path = dir .. "/h" .. i .. ".txt"
    local st, _, err = T.sh(string.format("OPENBLAS_NUM_THREADS=1 %s %s %s", T.quote(T.wb),
      T.quote(dir .. "/fit.lua"), T.quote(path)))
    T.eq(st, 0, err)
    local there = T.slurp(path)
    T.ok(there:find("hess_max.products " .. string.format("%a", n), 1, true),
      "products " .. n .. " in child " .. i)
    T.eq(first_diff(here, there), nil, "child " .. i .. ": every series and the record")
  end
end)

T.done()
