-- test_task16_keras.lua: task 16, the Keras example mnist_mlp.py against its
-- published 98.40 %. Its --quick run leaves a README whose verdict line
-- follows the stated rule from the numbers it prints, its figure and a
-- beyond.json the report reads; the rule itself (B.against_one_run) is
-- checked on numbers worked by hand.
package.path = "scripts/?.lua;scripts/?/init.lua;" .. package.path
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local B = require "study.beyond"

T.test("the rule: inside the CI agree, inside the prediction interval partly, else differ",
  function()
  -- {0.98, 0.99}: mean 0.985, sd 0.00707, t(0.975, 1) = 12.706: CI half
  -- 0.0635, prediction half 0.1100
  local r = B.against_one_run({0.98, 0.99}, 0.984)
  T.eq(r.verdict, "agree")
  T.near(r.lo, 0.985 - 12.7062 * 0.0070711 / math.sqrt(2), 1e-4)
  T.near(r.phi, 0.985 + 12.7062 * 0.0070711 * math.sqrt(1.5), 1e-4)
  local xs = {0.98, 0.981, 0.982, 0.983, 0.984} -- mean 0.982, sd 0.00158, t(4) 2.776
  T.eq(B.against_one_run(xs, 0.984).verdict, "partly", "0.984 > CI hi 0.98396")
  T.eq(B.against_one_run(xs, 0.9868).verdict, "partly", "below PI hi 0.98681")
  T.eq(B.against_one_run(xs, 0.987).verdict, "differ")
  T.eq(B.against_one_run(xs, 0.9).verdict, "differ")
  T.eq(B.against_one_run({0.98}, 0.98).verdict, "undecided")
  T.eq(B.against_one_run({}, 0.98).verdict, "undecided")
  T.check_error("xs%[2%]: a number expected, got %-?nan", B.against_one_run, {1, 0 / 0}, 1)
  T.check_error("#2 to 'against_one_run' %(number expected, got nil%)", B.against_one_run,
    {1, 2})
  T.check_error("table of numbers expected, got number", B.against_one_run, 1, 2)
end)

T.test("an interval of an accuracy is printed within [0, 100] %, clipped ends said (tryT T5)",
    function()
  -- scipy t.interval of 3 quick seeds: [66.19, 102.61] was printed as is
  T.eq(B.pct_interval(0.6619, 1.0261), "[66.19, 100.00] (clipped at 100 %: t gives 102.61, "
    .. "past what an accuracy can be)")
  T.eq(B.pct_interval(-0.02, 1.01), "[0.00, 100.00] (clipped at 0 %: t gives -2.00; at 100 %: "
    .. "t gives 101.00, past what an accuracy can be)")
  T.eq(B.pct_interval(0.9825, 0.9859), "[98.25, 98.59]")
  T.check_error("bad argument #2 to 'pct_interval' %(number expected, got %-?nan%)",
    B.pct_interval, 0.5, 0 / 0)
end)

T.test("--quick writes the README with a verdict from its numbers, the figure and "
  .. "beyond.json", function()
  local root = T.tmpdir()
  local st, out, err = T.sh(string.format("%s scripts/task16_keras_mnist_mlp.lua --quick "
    .. "--seeds 2 --root %s", T.wb, T.quote(root)))
  T.eq(st, 0, out .. err)
  local dir = root .. "/quick/task16_keras_mnist_mlp"
  local md = T.ok(util.read_file(dir .. "/README.md"), "README.md written")
  -- the rule is stated before the numbers
  local rule, verdict = md:find("## Rule", 1, true), md:find("\nVerdict: ", 1, true)
  T.ok(rule and verdict and rule < verdict, "the rule before the verdict")
  local v, m, lo, hi, plo, phi = md:match("\nVerdict: %*%*(%a+)%*%*%. Ours: ([%d.]+) ± [%d.]+ "
    .. "%% %(mean ± sd over 2 seeds%); 95 %% CI of the mean %[([%d.]+), ([%d.]+)%][^;]*; 95 %% "
    .. "prediction interval of one run %[([%d.]+), ([%d.]+)%][^;]*; published 98.40 %%%.")
  T.ok(v, md)
  lo, hi, plo, phi = tonumber(lo), tonumber(hi), tonumber(plo), tonumber(phi)
  T.ok(lo <= tonumber(m) and tonumber(m) <= hi and plo <= lo and hi <= phi, md)
  T.eq(v, (98.40 >= lo and 98.40 <= hi) and "agree"
    or (98.40 >= plo and 98.40 <= phi) and "partly" or "differ", "the rule's verdict")
  T.ok(md:find("--quick: a smoke test", 1, true), "marked as a smoke test")
  T.ok(md:find("the first 2000 training rows", 1, true), "says the rows it trained on")
  for _, f in ipairs{"test_accuracy.png", "test_accuracy.csv", "test_accuracy.gp"} do
    T.ok(wb.sys.exists(dir .. "/" .. f), "missing " .. f)
  end
  T.ok(md:find("(test_accuracy.png)", 1, true), "the README shows the figure")
  local row = T.ok(B.read(dir .. "/beyond.json"))
  T.eq(row.verdict, v, "beyond.json's verdict is the README's")
  T.eq(row.quick, true, "beyond.json says the verdict is a --quick run's (tryQ F8)")
  T.ok(md:find("Validation: the test set (validation = \"test\")", 1, true), "whose choice: "
    .. "the experiment's, not 'the original study's'")
  T.ok(row.source:find("mnist_mlp.py", 1, true), row.source)
  -- validation is the test set, reported only: no early stopping in the runs
  local listed = util.read_json(dir .. "/runs.json").runs
  T.eq(#listed, 2, "one run per seed")
  for _, h in ipairs(listed) do
    local r = util.read_json(root .. "/quick/runs/task16_keras_mnist_mlp-" .. h .. ".json")
    T.eq(r.config.validation, "test")
    T.eq(r.config.early_stopping, nil, "nothing decided on the test set")
    T.eq(r.history.weights_epoch, r.config.epochs, "the last epoch's weights")
    T.eq(r.history.val_accuracy[#r.history.val_accuracy], r.metrics.test_accuracy,
      "the curve's last point is the final test accuracy")
  end
end)

T.done()
