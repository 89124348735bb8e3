-- Audit M's findings on the instruments' messages and the cockpit's
-- defaults (their numbers agreed with float64 PyTorch to float32 rounding).
local T = dofile("tests/lua/harness.lua")

local function model(act)
  wb.seed(1)
  return wb.nn.Sequential{wb.nn.Dense(784, 16, {activation = act or "relu"}),
    wb.nn.Dense(16, 10, {activation = "softmax"})}
end
local ok_mnist, mn = pcall(wb.data.mnist)
if not ok_mnist then
  T.skip("instrument messages and the cockpit's defaults", "no MNIST")
  T.done()
  return
end
local d = mn.train:subset(1, 64)

T.test("M1: tic refused on a tanh model is fit's own message, not a hook's", function()
  -- before: "fit: on_train_begin: fit: instrument tic ...", as if a callback of the user's raised
  local m = model("tanh")
  local ok, e = pcall(m.fit, m, d, {instruments = {"tic"}, verbose = false})
  T.ok(not ok)
  T.ok(tostring(e):find("^fit: instrument tic needs the exact Hessian diagonal"), tostring(e))
  T.ok(not tostring(e):find("on_train_begin", 1, true), tostring(e))
end)

T.test("M4: a misspelt preset gets a did-you-mean, as a misspelt name in a list does", function()
  local m = model()
  T.check_error('got ecomony (did you mean "economy"?)', m.fit, m, d,
    {instruments = "ecomony", verbose = false})
end)

T.test("M5: cockpit = true under loss mse shows what it can, without alpha", function()
  -- before: "instrument alpha needs per-sample losses", though no instrument was asked for
  local m = model()
  local h = m:fit(d, {cockpit = {every = 1000}, loss = "mse", verbose = false})
  T.ok(h.steps.grad_norm and #h.steps.grad_norm == 2, "grad_norm recorded")
  T.eq(h.steps.alpha, nil)
  T.eq(table.concat(wb.cockpit._defaults(nil), " "), "loss grad_norm alpha gsnr")
  -- an explicit alpha under mse is still refused, naming it
  T.check_error("instrument alpha needs per-sample losses", m.fit, m, d,
    {instruments = {"alpha"}, loss = "mse", verbose = false})
end)

T.test("M6: the cockpit's lambda_max limit is the optimizer's: (2+2b)/lr with momentum b",
  function()
  -- before: 2/lr under momentum too, where plain momentum's bound is (2 + 2 beta)/lr
  local L = wb.cockpit._limit
  T.eq(L({name = "sgd", momentum = 0}).label, "2/lr")
  T.eq(L({name = "sgd", momentum = 0.9}).factor, 2 + 2 * 0.9)
  T.eq(L({name = "sgd", momentum = 0.9}).label, "(2+2*0.9)/lr")
  T.near(L({name = "sgd", momentum = 0.9, nesterov = true}).factor, 3.8 / 2.8, 1e-15)
  T.eq(L({name = "adam"}).label, "2/lr (reference)")
  local m, dir = model(), T.tmpdir()
  m:fit(d, {optimizer = wb.optim.SGD{lr = 0.1, momentum = 0.9}, verbose = false,
    instruments = {"loss", "hess_max"}, cockpit = {every = 1000, save = dir .. "/c.png"}})
  local index = T.slurp(dir .. "/c.csv") or ""
  T.ok(index:find("lambda_max vs (2+2*0.9)/lr", 1, true), index)
end)

T.done()
