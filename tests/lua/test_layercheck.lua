-- test_layercheck.lua: fit checks a Lua layer's backward entry by entry
-- (its input gradient and each parameter's) and along random +-1
-- directions, never along the gradient itself (wb/grad_check_layer.lua).
-- Along the gradient's own direction a backward with half its input
-- gradient's rows zeroed, its last row skipped or a parameter gradient
-- 3 % off agreed; each is now refused naming the layer and an entry, as is
-- a backward that hard-codes the batch size (seen on a batch of the short
-- last one's size only). A right one passes, and training with the check
-- is training without it, bit for bit, the generator where it was.
local T = dofile("tests/lua/harness.lua")

wb.seed(5)
local X = wb.rand(48, 20)
local Y = wb.new_tensor({48}, "uint8")
for i = 1, 48 do Y:set(i, (i * 7) % 10) end

-- A [n, c] tensor of ones with the rows keep(i) false at 0.
local function row_mask(n, c, keep)
  local t = {}
  for i = 1, n do
    local row = {}
    for j = 1, c do row[j] = keep(i) and 1 or 0 end
    t[i] = row
  end
  return wb.tensor(t)
end

-- y = x W + b in Lua; wrong: what its backward gets wrong.
local function LuaDense(n_in, n_out, wrong)
  local L = {W = wb.randn(n_in, n_out) * 0.3, b = wb.randn(n_out) * 0.1}
  L.gW, L.gb = wb.zeros(n_in, n_out), wb.zeros(n_out)
  function L:forward(x) return wb.matmul(x, self.W) + self.b end
  function L:backward(x, g, need)
    local n = x:shape()[1]
    local gW = wb.matmul(x:t(), g)
    self.gW:copy(self.gW + (wrong == "scale" and gW * 1.03 or gW))
    -- a sum written as 32 means: right for batches of 32 only
    self.gb:copy(self.gb + (wrong == "n" and g:mean(1) * 32 or g:sum(1)))
    if not need then return end
    local gx = wb.matmul(g, self.W:t())
    if wrong == "half" then gx = gx * row_mask(n, n_in, function(i) return i % 2 == 1 end) end
    if wrong == "last" then gx = gx * row_mask(n, n_in, function(i) return i < n end) end
    return gx
  end
  function L:parameters() return {self.W, self.b}, {self.gW, self.gb} end
  function L:zero_grad() self.gW:fill(0); self.gb:fill(0) end
  return L
end

-- tanh(x) = (e^2x - 1) / (e^2x + 1) (wb's tensors have exp, not tanh).
local function tanh(x)
  local e = (x * 2):exp()
  return (e - 1) / (e + 1)
end

-- y = a tanh(x), a a parameter of one entry; scale: its gradient 1.03 times.
local function ScaledTanh(scale)
  local L = {a = wb.tensor({1.5}), ga = wb.zeros(1)}
  function L:forward(x) return tanh(x) * self.a:item() end
  function L:backward(x, g, need)
    local t = tanh(x)
    self.ga:copy(self.ga + wb.tensor({(g * t):sum() * (scale or 1)}))
    if need then return g * (t * t * -1 + 1) * self.a:item() end
  end
  function L:parameters() return {self.a}, {self.ga} end
  function L:zero_grad() self.ga:fill(0) end
  return L
end

local function model(layer)
  wb.seed(2)
  return wb.nn.Sequential{wb.nn.Dense(20, 12, {activation = "tanh"}), layer,
    wb.nn.Dense(12, 10, {activation = "softmax"})}
end

local function fit(m, check)
  return m:fit(X, Y, {epochs = 2, batch_size = 32, seed = 4, verbose = false,
    grad_check = check})
end

local HEAD = "fit: layer 2 (a Lua layer): its backward does not match its forward on the "
  .. "first batch (32 rows): "

T.test("half the input gradient's rows zeroed: refused, naming the layer and an entry",
  function()
  local m = model(LuaDense(12, 12, "half"))
  local err = T.check_error(HEAD .. "the gradient w.r.t. its input,", fit, m)
  -- 21 of the 32 rows checked (12 entries each): the even ones among them
  local rows = err:match("252 entries checked disagree %(rows ([%d, ]+)")
  T.ok(rows ~= nil, err)
  for r in rows:gmatch("%d+") do T.eq(tonumber(r) % 2, 0, "row " .. r .. " is even") end
  T.ok(err:find("at input%[" .. rows:match("%d+") .. ", 1%]") ~= nil, err)
  -- the check put everything back: the same model trains without it
  T.eq(#fit(m, false).loss, 2)
end)

T.test("the last row's input gradient skipped: refused, naming row 32", function()
  local err = T.check_error(HEAD .. "the gradient w.r.t. its input, 12 of the ", fit,
    model(LuaDense(12, 12, "last")))
  T.ok(err:find("disagree %(rows 32%); at input%[32, 1%]") ~= nil, err)
end)

T.test("a parameter's gradient 1.03 times too large: refused, naming it and the entry",
  function()
  local err = T.check_error(HEAD .. "the gradient of its parameter 1 (W), ", fit,
    model(LuaDense(12, 12, "scale")))
  T.ok(err:find("of the 144 entries checked disagree %(rows 1, 2, .*%); at parameter 1%[") ~= nil,
    err)
  T.ok(err:find("over them the gradient is 1.03 times the slope", 1, true) ~= nil, err)
  err = T.check_error(HEAD .. "the gradient of its parameter 1 (a), 1 of the 1 entries "
    .. "checked disagree (rows 1); at parameter 1[1, 1]", fit, model(ScaledTanh(1.03)))
end)

T.test("a backward that hard-codes the batch size: refused on the short last one's size",
  function()
  T.check_error("fit: layer 2 (a Lua layer): its backward does not match its forward on a "
    .. "batch of the short last one's size (16 rows): the gradient of its parameter 2 (b), "
    .. "12 of the 12 entries checked disagree (rows 1, 2, ", fit, model(LuaDense(12, 12, "n")))
end)

T.test("right layers pass; with the check training is bit for bit the same", function()
  for _, make in ipairs({function() return LuaDense(12, 12) end, ScaledTanh}) do
    local function run(check)
      wb.seed(9)
      local m = model(make())
      local h = fit(m, check)
      return h.loss[2], wb.io._hash(m[2].W or m[2].a), wb.io._hash(m[3].weight),
        wb.io._hash(wb.rand(4))
    end
    local l1, p1, w1, r1 = run(true)
    local l2, p2, w2, r2 = run(false)
    T.eq(l1, l2)
    T.eq(p1, p2, "the Lua layer's parameter bit for bit")
    T.eq(w1, w2, "the next layer's weights bit for bit")
    T.eq(r1, r2, "the global generator where it was")
  end
end)

-- tryN 4: a backward(gy) took the input x as gy; the message said its gradient was some
-- times the slope and offered grad_check = false, without the signature it is called with
T.test("a backward with the wrong signature: the message gives backward(x, grad_y, "
  .. "need_grad_input)", function()
  local function Scale(backward)
    local L = {a = wb.ones(1, 12), ga = wb.zeros(1, 12)}
    function L:forward(x) self.x = x; return x * self.a end
    L.backward = backward
    function L:parameters() return {self.a}, {self.ga} end
    function L:zero_grad() self.ga:fill(0) end
    return L
  end
  local err = T.check_error(HEAD:sub(1, -3) .. " (its backward takes (gy) after self; it is "
    .. "called as backward(x, grad_y, need_grad_input), so its first argument was the input "
    .. "x): the gradient w.r.t. its input,", fit, model(Scale(function(self, gy)
      self.ga:copy(self.ga + (self.x * gy):sum(1):reshape(1, 12))
      return gy * self.a
    end)))
  T.ok(err:find("backward(x, w, true) as a layer's backward(x, grad_y, need_grad_input) is "
    .. "called", 1, true), err)
  T.check_error(HEAD:sub(1, -3) .. " (the gradient w.r.t. its input it returned equals the "
    .. "input x: backward is called as backward(x, grad_y, need_grad_input), a "
    .. "backward(grad_y) takes x for grad_y)", fit, model(Scale(function(self, ...)
      local gy = ...
      self.ga:copy(self.ga + (self.x * gy):sum(1):reshape(1, 12))
      return gy
    end)))
end)

-- parameters() returning one list failed as a bare "attempt to index a nil value"
T.test("a Lua layer whose parameters() returns one list is said so", function()
  local L = {}
  function L:forward(x) return x * 2 end
  function L:backward(_, g, need) if need then return g * 2 end end
  function L:parameters() return {} end
  function L:zero_grad() end
  wb.seed(1)
  local m = wb.nn.Sequential{wb.nn.Dense(5, 4, {activation = "relu"}), L,
    wb.nn.Dense(4, 3, {activation = "softmax"})}
  local x = wb.randn(16, 5)
  local y = wb.tensor({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0}, "uint8")
  T.check_error("fit: layer 2 (a Lua layer): parameters() must return two lists of tensors, "
    .. "its parameters and their gradients ({}, {} for none), got 0 parameters and nil", m.fit,
    m, x, y, {batch_size = 4, verbose = false})
end)

T.done()
