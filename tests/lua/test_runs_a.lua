-- audit A's findings in wb.Runs: its table escapes a variant label's "|"
-- (A15: "sgd|mom" ended its cell, and Markdown showed the row's seeds under
-- test_accuracy); plot_curves says a variant whose runs finished without
-- the series so, not "(none finished)" (A10).
local T = dofile("tests/lua/harness.lua")
local md = dofile("tests/lua/mdtables.lua")

local function rec(v, seed, ms, status)
  return {hash = string.format("%015d%d", #v, seed), task = "t", variant = v, seed = seed,
    config = {seed = seed, hidden = #v, epochs = 2}, status = status or "ok",
    group_key = "g" .. v, history = {loss = {1, 0.5}, val_loss = {1, 0.6}, epochs = 2},
    metrics = {test_accuracy = 0.5 + seed / 100, epochs_run = 2}, measures = ms or {}}
end

T.test("a variant label holding '|' stays one cell", function()
  local rs = wb.runs.Runs{rec("sgd|mom", 1), rec("sgd|mom", 2), rec("adam", 1), rec("adam", 2)}
  local text = rs:table{"test_accuracy"}
  local problems = md.check(text, "table")
  T.eq(#problems, 0, table.concat(problems, "\n") .. "\n" .. text)
  T.ok(text:find("| sgd\\|mom | 2 | 51.50 ± 0.71 % |", 1, true), text)
end)

T.test("plot_curves: a variant that finished without the series is not '(none finished)'",
    function()
  local rs = wb.runs.Runs{rec("a", 1, {s = {1, 2}}), rec("a", 2, {s = {1.5, 2.5}}),
    rec("bb", 1), rec("bb", 2), rec("ccc", 1, nil, "diverged")}
  local labels = {}
  for _, s in ipairs(rs:plot_curves("s").d.series) do labels[#labels + 1] = s.label end
  T.eq(table.concat(labels, "; "), "a; bb (no s recorded); ccc (none finished)")
end)

T.test("plot_curves: a variant all of whose runs failed (no record) is in the legend", function()
  local rs = wb.runs.Runs{rec("a", 1, {s = {1, 2}}), rec("a", 2, {s = {1.5, 2.5}})}
  -- a task's failed runs, as the runner hands them to its Runs (wb/runs_stats.lua failed_of)
  rawset(rs, "failures", {{spec = {variant = "zz", seed = 1, hash = "f1"}, error = "boom"},
    {spec = {variant = "zz", seed = 2, hash = "f2"}, error = "boom"}})
  local p = rs:plot_curves("s")
  local labels = {}
  for _, s in ipairs(p.d.series) do labels[#labels + 1] = s.label end
  T.eq(table.concat(labels, "; "), "a; zz (none finished)")
  T.ok(p.d.title:find("2 runs failed (no record)", 1, true), p.d.title)
  T.ok(rs:table{"test_accuracy"}:find("| zz | 0 of 2 (2 failed) |", 1, true))
  -- asked for by name: said so, not "unknown variant (variants of these runs: none)" (A11)
  T.check_error("wb.Runs:stat: variant 'zz' has no run to use: its 2 run(s) failed, none "
    .. "recorded", rs.stat, rs, "zz", "test_accuracy")
  T.check_error("unknown variant 'zzz'", rs.stat, rs, "zzz", "test_accuracy")
end)

T.done()
