-- wb/runs_curve_note.lua: what the title of wb.Runs:plot_curves says about
-- the runs a figure draws (how many seeds, what the band is, the runs that
-- diverged or failed and are not drawn). Private to wb/runs.lua.
local _ENV = require "wb.std"
local kernels = require "wb.runs_kernels"
local fmt = require "wb.runs_fmt"

local M = {}

-- The start of the title of a figure drawn only from --quick runs: a task's
-- (wb/task.lua), --cockpit's, and the lab's (M.quick_title).
M.QUICK_MARK = "QUICK (smoke test, not the results): "

-- title marked QUICK when every run of records (at least one) is a --quick
-- run's (its record's quick): wb.Runs:plot_curves, wb.Run:plot and wb.lab's
-- figures of runs from plots/quick looked like results, the mark was a task
-- figure's alone (tryM 6). Marked once: a task's report marks its own.
function M.quick_title(records, title)
  if #records == 0 then return title end
  for _, r in ipairs(records) do
    if type(r) ~= "table" or rawget(r, "quick") ~= true then return title end
  end
  return M.quick_mark(title)
end
-- title with the mark, unless it has it already
function M.quick_mark(title)
  return title:sub(1, #M.QUICK_MARK) == M.QUICK_MARK and title or M.QUICK_MARK .. title
end

-- How many values each point of the curve of series `name` over the runs
-- rs of one variant is the mean of (as wb/runs_stats.lua's curve and
-- wb/runs_steps.lua's take them: finished runs, usable values); x: the
-- curve's epochs, or its steps with o.x = "step". After early stopping a
-- point averages fewer seeds than the title's count: the figure's CSV says
-- how many, the title where they drop (M.note).
function M.counts(rs, name, o, x, raw)
  local n, at = {}, {}
  for i = 1, #x do n[i] = 0; at[x[i]] = i end
  for _, r in ipairs(rs) do
    if o.x == "step" then
      local st = raw.finished(r) and type(r.history) == "table" and r.history.steps
      local s, xs = type(st) == "table" and st[name], type(st) == "table" and st.step
      for j = 1, type(s) == "table" and type(xs) == "table" and #xs or 0 do
        local i = at[xs[j]]
        if i and raw.usable(s[j]) then n[i] = n[i] + 1 end
      end
    else
      local h = raw.finished(r) and raw.series(r, name)
      for e = 1, #x do if h and raw.usable(h[e]) then n[e] = n[e] + 1 end end
    end
  end
  return n
end

-- ", fewer after epoch 2 (n in the CSV)": the first point of any variant
-- whose mean is over fewer values than its finished seeds (ks[i]), by its
-- series ss[i] (n: counts, x: steps with o.x = "step"); "" when none.
local function fewer(ss, ks, o)
  local at, what -- the earliest, as an epoch index or a step
  for i, k in ipairs(ks) do
    local s = ss[i]
    for j = 1, s and s.n and #s.n or 0 do
      if s.n[j] < k then
        local pos = o.x == "step" and s.x[j] or j
        if not at or pos < at then
          at = pos
          what = j == 1 and ("from " .. (o.x == "step" and "step " .. s.x[1] or "epoch 1"))
            or ("after " .. (o.x == "step" and "step " .. s.x[j - 1] or "epoch " .. (j - 1)))
        end
        break
      end
    end
  end
  return what and (", fewer " .. what .. " (n in the CSV)") or ""
end

-- The note for run list rs drawn with plot_curves options o; raw: the
-- statistics' helpers (wb/runs_stats.lua M.raw); ss: the series drawn, one
-- per variant first, each with n (M.counts).
function M.note(rs, o, raw, ss)
  -- seeds counted as the curves take them: finished runs; the others said.
  -- Variants with fewer (a failed or diverged seed) are named by the range:
  -- "mean over 3 seeds" was the most of any variant, said of all.
  local n, lo_n, left, finished = 0, nil, 0, raw.finished
  local failed = raw.failed_of(rs)
  local n_failed = 0
  for _, k in pairs(failed) do n_failed = n_failed + k end
  local ks = {}
  for i, v in ipairs(rs:variants()) do
    local k = 0
    for _, r in ipairs(rs:of(v)) do if finished(r) then k = k + 1 else left = left + 1 end end
    n, lo_n, ks[i] = math.max(n, k), math.min(lo_n or k, k), k
  end
  local seeds = ((lo_n or n) < n and string.format("%d to %d seeds", lo_n, n)
    or string.format("%d seeds", n)) .. fewer(ss or {}, ks, o)
  local bars = o._bars and "error bars" or "band" -- (one epoch: a band has no width to see)
  local band = n > 1 and string.format("mean over %s, %s: %s", seeds, bars,
    o.x ~= "step" and "95 % CI of the mean" or o.logy and "min-max over seeds"
    or "sd over seeds") or n == 1 and "one seed" or "no finished run"
  if n > 1 and o.band_floor then band = band .. "; " .. bars .. " clipped at 0" end
  if o._log then band = band .. "; " .. o._log end
  if o.smooth then band = string.format("%s; bold: running %s of %s points", band,
    o.smooth_by == "median" and "median" or "mean", tostring(o.smooth)) end
  if left > 0 then
    band = band .. string.format("; %d run%s that diverged not shown", left, left == 1 and ""
      or "s")
  end
  if n_failed > 0 then
    band = band .. string.format("; %d run%s failed (no record)", n_failed, n_failed == 1
      and "" or "s")
  end
  -- a figure copied out of its folder keeps its title, not stderr's note
  -- (wb/runs_kernels.lua say): the variants whose seeds mix kernels
  local mixed = {}
  for _, v in ipairs(rs:variants()) do
    if kernels.mixed(rs:of(v)) then mixed[#mixed + 1] = tostring(v) end
  end
  if #mixed > 0 then
    band = band .. "; seeds of " .. table.concat(mixed, ", ")
      .. " mix OpenBLAS kernels (their last bits differ)"
  end
  return band
end

-- {==================== units ====================

-- An accuracy (wb/runs_fmt.lua's is_pct, the tables' one rule) is drawn in
-- percent, as tables, findings and progress lines show it: a figure of
-- 0.96 to 0.98 labelled val_accuracy sat beside a table's 97.11 % (tryV 3).
-- Series s (label, x, y and its err, lo, hi) of series `name` in the axis'
-- unit: new lists, never the record's own (a Run's history is its record's).
-- wb.plot writes the CSV from these lists, so it holds the numbers drawn.
function M.in_unit(name, s)
  if not fmt.is_pct(name) then return s end
  for _, k in ipairs{"y", "err", "lo", "hi"} do
    local v = s[k]
    if type(v) == "table" then
      local u = {}
      for i = 1, #v do u[i] = v[i] and 100 * v[i] end
      s[k] = u
    end
  end
  return s
end

-- plot_curves' opts x, refs and yrange checked, raised at its caller's line.
-- On an accuracy's (percent) axis, opts' refs and yrange are in percent: a
-- fraction (refs = {{y = 0.97}}, yrange = {0.9, 1}) drew off the axis, or
-- squashed it to 0..1 %, without a word. The rule: a ref whose y is strictly
-- between 0 and 1, or a yrange whose values all lie in [0, 1] and one of
-- them strictly between, is an input error of plot_curves' caller (a
-- percent that small never bounds an accuracy axis). 0 and 1 alone pass.
function M.check_opts(name, o)
  if not (o.x == nil or o.x == "epoch" or o.x == "time" or o.x == "step") then
    require("wb.args").input_fail('wb.Runs:plot_curves: x must be "epoch", "time" or "step", '
      .. "got " .. tostring(o.x), 3)
  end
  if not fmt.is_pct(name) then return end
  local function g(v) return string.format("%.14g", v) end
  local function bad(what, got, meant)
    require("wb.args").input_fail(string.format("wb.Runs:plot_curves: %s in percent on an "
      .. "accuracy plot: got %s, did you mean %s?", what, got, meant), 4)
  end
  for _, r in ipairs(type(o.refs) == "table" and o.refs or {}) do
    local y = type(r) == "table" and r.y
    if type(y) == "number" and y > 0 and y < 1 then bad("refs are", g(y), g(100 * y)) end
  end
  local yr = o.yrange
  if type(yr) ~= "table" or #yr == 0 then return end
  local inside, frac = true, false
  for _, v in ipairs(yr) do
    if type(v) ~= "number" then return end -- (wb.plot.lines says what a yrange is)
    inside, frac = inside and v >= 0 and v <= 1, frac or v > 0 and v < 1
  end
  if inside and frac then
    local got, meant = {}, {}
    for i, v in ipairs(yr) do got[i], meant[i] = g(v), g(100 * v) end
    bad("yrange is", "{" .. table.concat(got, ", ") .. "}",
      "{" .. table.concat(meant, ", ") .. "}")
  end
end

-- The y label of a figure of series `name`: the caller's, else the name;
-- an accuracy's says "(%)" (appended to a label that names no "%": the
-- task scripts' "validation accuracy" gave no unit to a percent axis).
function M.ylabel(name, given)
  local label = given or name
  if fmt.is_pct(name) and type(label) == "string" and not label:find("%", 1, true) then
    label = label .. " (%)"
  end
  return label
end

-- plot_curves' error when no run left a record (every one failed):
-- wb.plot.lines said "expected a non-empty array".
function M.no_run(rs, name)
  local nf = #(rawget(rs, "failures") or {})
  return string.format("wb.Runs:plot_curves: no run to draw '%s' from%s", name, nf > 0 and
    string.format(" (%d failed, none recorded: their FAILED lines say why)", nf) or "")
end

-- }====================

-- {==================== provenance ====================

-- What plot_curves' columns beside each mean are (its options o), appended
-- to lines: a reader of the CSV alone could not tell a ci95 from an sd, nor
-- that x = "time"'s columns '<variant> x' are seconds (tryO F5).
local function columns(lines, o)
  local kind, what = "ci95", "the half-width of the t-based 95 % confidence interval of the "
    .. "mean over the seeds at that point (t(0.975, n - 1) sd / sqrt(n), sd with n - 1 and n "
    .. "the column '<variant> n'; NaN where n < 2)"
  if o.x == "step" then
    kind, what = "sd", "the standard deviation over the seeds at that step (n - 1; NaN where "
      .. "one seed)"
  end
  local sm = o.smooth and string.format(" %s %s", o.smooth_by or "mean", tostring(o.smooth))
  local ran = sm and string.format(", each edge then run through the running %s",
    o.smooth_by or "mean") or ""
  if o.x == "step" and o.logy then
    lines[#lines + 1] = string.format("columns '<variant>%s lo' and '<variant>%s hi': the band, "
      .. "the lowest and the highest seed's value at that step%s", sm or "", sm or "", ran)
  elseif sm then
    lines[#lines + 1] = string.format("columns '<variant>%s lo' and '<variant>%s hi': the band, "
      .. "the mean - and + its %s, %s%s", sm, sm, kind, what, ran)
  else
    lines[#lines + 1] = string.format("a column '<variant> %s': %s; the band is the mean ± it",
      kind, what)
  end
  if o.x == "time" then
    lines[#lines + 1] = "x ('<variant> x' where the variants' times differ): seconds of "
      .. "training, epoch k at the sum of epochs 1 to k's mean epoch_time over the seeds "
      .. "that ran it"
  end
end

-- The comment heading a curve figure's CSV and gnuplot script (wb.plot's
-- comment option): which command drew it, at which commit, from which run
-- records (their hashes, task, epochs, data). A figure copied out of its
-- folder said none of it; its README did. by: the method drawing it
-- (default wb.Runs:plot_curves, whose columns are explained: o, its options).
function M.provenance(rs, name, by, o)
  local util, record = require "wb.util", require "wb.record"
  local recs, hashes, lists, seen = rs.records, {}, {task = {}, epochs = {}, data = {}}, {}
  local function add(k, v)
    v = v == nil and "none" or util.show(v)
    if not seen[k .. "\0" .. v] then seen[k .. "\0" .. v] = true; table.insert(lists[k], v) end
  end
  for i, r in ipairs(recs) do
    hashes[i] = tostring(r.hash)
    local c = type(r.config) == "table" and r.config or {}
    add("task", r.task)
    add("epochs", c.epochs)
    add("data", tostring(c.dataset or "mnist") .. (type(c.subset) == "table" and string.format(
      " first %s training / %s test rows", tostring(c.subset.train or "all"),
      tostring(c.subset.test or "all")) or " full"))
  end
  local dir = rawget(rs, "dir")
  local lines = {string.format("%s: drawn by %s (workbench %s, commit %s) in `%s`", name,
    by or "wb.Runs:plot_curves", tostring(require("wb").version), util.commit_text(),
    require("wb.runner_options").this_command()),
    string.format("from %d run record%s%s: task %s; epochs %s; data %s; trained at commit %s",
      #recs, #recs == 1 and "" or "s", dir and (" in " .. dir) or "",
      table.concat(lists.task, ", "), table.concat(lists.epochs, ", "),
      table.concat(lists.data, "; "), record.commits(recs) or "unknown")}
  for i = 1, #hashes, 6 do
    lines[#lines + 1] = (i == 1 and "run hashes: " or "  ")
      .. table.concat(hashes, " ", i, math.min(i + 5, #hashes))
  end
  if not by then columns(lines, o or {}) end
  if fmt.is_pct(name) then -- the record holds fractions; a CSV read beside it said 97.1
    lines[#lines + 1] = string.format("y: %s in percent (100 x the run records' fraction, "
      .. "as the tables show it)", name)
  end
  lines[#lines + 1] = (by and "" or "a column '<variant> n': how many seeds each point is "
    .. "the mean of (fewer after early stopping); ") .. "pandas: read_csv(path, comment='#')"
  return table.concat(lines, "\n")
end

-- The variants of run list rs as its table and plot_curves list them: its
-- records' variants, then those whose runs all left no record (none: the
-- set of those; failed: the failed runs by variant, raw.failed_of's). A
-- variant all of whose seeds failed was missing from the figure's legend
-- (audit A8), where the table had its row.
function M.variants(rs, raw)
  local failed, only = raw.failed_of(rs)
  local vs, none = rs:variants(), {}
  for _, v in ipairs(only) do vs[#vs + 1] = v; none[v] = true end
  return vs, none, failed
end

-- The legend's label of variant v, drawn without a line: none of its runs
-- (rs) finished, or they did and none recorded series `name` (a measure
-- some variants return): that was "(none finished)" too (audit A10).
function M.empty_label(rs, v, name)
  for _, r in ipairs(rs) do
    if r.status == "ok" then return string.format("%s (no %s recorded)", v, name) end
  end
  return v .. " (none finished)"
end

-- }====================

-- {==================== y scale and refs ====================

-- The options plot_curves (of run list rs, series `name`, options o) draws
-- series ss with, before its refs: a copy of o with logy as given or chosen
-- for a nonnegative measure (wb/runs_curve_axis.lua), band_floor = 0 when
-- such a band goes below 0, _bars when each band is one point; then the
-- title's name of the series and a note going first in its parenthesis.
function M.scale(rs, name, o, ss)
  local ax = require "wb.runs_curve_axis"
  local e = {}
  for k, v in pairs(o) do e[k] = v end
  e.logy, e._log = ax.logy(name, o, ss)
  for _, s in ipairs(ss) do -- a step band: min-max on a log axis (which shows it), else sd
    if s.lo and s.err then if e.logy then s.err = nil else s.lo, s.hi = nil, nil end end
  end
  if not e.logy and ax.nonneg_drawn(name, ss) and ax.clips(ss) then e.band_floor = 0 end
  -- on a log axis a band edge at or below 0 cannot be drawn: gnuplot ran it to the axis'
  -- foot without a word (tryAB D3)
  if e.logy and ax.clips(ss) then
    e._log = (e._log and e._log .. "; " or "") .. "band edges at or below 0 cut at the axis"
  end
  e._bars = ax.bars(ss)
  return e, ax.name(name, rs.records, o)
end

-- Appends plot_curves' refs (its options o) to series ss across x0 to x1;
-- check_variant(rs, v, fname, level) raises for an unknown like = variant.
function M.refs(rs, o, ss, x0, x1, check_variant)
  for i, r in ipairs(o.refs or {}) do
    if type(r) ~= "table" or type(r.y) ~= "number" then
      error(string.format("wb.Runs:plot_curves: refs[%d]: expected {label =, y = number}", i), 3)
    end
    local like
    if r.like ~= nil then -- dashed in that variant's colour: its own threshold
      check_variant(rs, r.like, "plot_curves", 3)
      for k, v in ipairs(rs:variants()) do if v == r.like then like = k end end
    end
    ss[#ss + 1] = {label = r.label, x = {x0 or 0, x1 or 1}, y = {r.y, r.y}, like = like}
  end
end

-- }====================

return M
