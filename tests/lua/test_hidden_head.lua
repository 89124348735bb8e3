-- test_hidden_head.lua: an Activation('linear') after a softmax (or a relu,
-- sigmoid, tanh) head is refused, naming it: the loss looked at the last
-- layer alone, took the softmax's probabilities as logits and applied a
-- second softmax, without a word (a new user's loss 1.71 for 0.56, tryG 1).
local T = dofile("tests/lua/harness.lua")

local x = wb.randn(8, 4)
local y = wb.tensor({0, 1, 2, 0, 1, 2, 0, 1}, "uint8")

T.test("softmax, relu, sigmoid, tanh heads behind Activation('linear') are refused", function()
  for _, act in ipairs{"softmax", "relu", "sigmoid", "tanh"} do
    wb.seed(1)
    local m = wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = act}),
      wb.nn.Activation("linear"), wb.nn.Activation("linear")}
    local want = "the last layer (Activation(linear)) passes on layer 1's " .. act
      .. " output unchanged, which the loss would take as logits"
    T.check_error("fit: " .. want, m.fit, m, x, y, {epochs = 1, verbose = false})
    T.check_error("evaluate: " .. want, m.evaluate, m, x, y)
    T.check_error(want, m.fit, m, x, y, {epochs = 1, verbose = false,
      loss = "categorical_crossentropy"})
  end
end)

T.test("a linear head, a softmax head and a Dense after a softmax still train", function()
  for _, layers in ipairs{{wb.nn.Dense(4, 3)}, {wb.nn.Dense(4, 3, {activation = "softmax"})},
      {wb.nn.Dense(4, 3, {activation = "softmax"}), wb.nn.Dense(3, 3)}} do
    local m = wb.nn.Sequential(layers)
    T.eq(m:fit(x, y, {epochs = 1, verbose = false}).epochs, 1)
  end
end)

T.done()
