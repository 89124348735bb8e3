-- test_runs_names.lua: the check of one name against runs' names (runs_stats
-- check_name: a figure's series, a table's value) decides from that name
-- alone (has_name) exactly as the set of every name (names_of) does, on
-- records with every kind of entry: history series and not-series, step
-- series and not, measure lists, numbers and false, metrics, a gap.
local T = dofile("tests/lua/harness.lua")
local S = require("wb.runs_stats").raw

local records = {
  {history = {loss = {1, 0.5}, val_loss = {1.2, 0.9}, note = "x", best_epoch = 2,
     steps = {step = {1, 2, 3}, epoch = {1, 1, 1}, loss = {3, 2, 1}, grad_norm = {1, 2, 3},
       bad = {1, "x"}, tbl = {a = 1}}},
   measures = {robust = {0.9, 0.8}, epochs_to_target = false, score = 0.5, text = "t"},
   metrics = {test_accuracy = 0.97, label = "x"}, status = "ok"},
  {history = {loss = {2}, accuracy = {0.5, nil, 0.7}, steps = {step = {1}, alpha = {0.1}}},
   measures = {robust = "no"}, status = "ok"},
  {history = "not a table", measures = {other = {1}}, metrics = {epochs_run = 3}},
  {},
}

T.test("has_name is names_of's membership, for every kind and name", function()
  local names = {"loss", "val_loss", "note", "best_epoch", "steps", "step", "epoch",
    "grad_norm", "bad", "tbl", "robust", "epochs_to_target", "score", "text",
    "test_accuracy", "label", "accuracy", "alpha", "other", "epochs_run", "gap", "nothing", 1}
  local n = 0
  for first = 1, #records do
    for last = first, #records do
      local rs = {table.unpack(records, first, last)}
      for _, kind in ipairs{"steps", "series", "values"} do
        local set = S.names_of(rs, kind)
        for _, name in ipairs(names) do
          T.eq(S.has_name(rs, name, kind), set[name] == true,
            string.format("records %d..%d, %s, %s", first, last, kind, tostring(name)))
          n = n + 1
        end
      end
    end
  end
  T.ok(n > 600, n .. " cases")
end)

T.test("an unknown name is still an error listing the runs' names", function()
  T.check_error("unknown series 'los' %(did you mean 'loss'%?%)", S.check_name,
    {records[1]}, "los", "series", "f", "series", 1)
  T.check_error("unknown step series 'grad_nrm' %(did you mean 'grad_norm'%?%)",
    S.check_name, {records[1]}, "grad_nrm", "steps", "f", "step series", 1)
  T.ok(pcall(S.check_name, {records[1]}, "grad_norm", "steps", "f", "step series", 1))
  T.ok(pcall(S.check_name, {records[1]}, "epochs_to_target", "values", "f", "value", 1))
end)

T.done()
