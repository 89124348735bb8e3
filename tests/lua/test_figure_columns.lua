-- test_figure_columns.lua: a figure's CSV says, in its "# " lines, what
-- each column beside a mean is (tryO F5): plot_curves' '<variant> ci95'
-- (the t-based 95 % half-width over seeds) or x = "step"'s sd or lo/hi,
-- x = "time"'s seconds; a report's own figure its title, axes (a unit such
-- as %) and what its '<label> sd' is, each panel its own.
local T = dofile("tests/lua/harness.lua")
local q = T.quote

-- A record of variant a and seed s, with 2 epochs of loss and a step series.
local function rec(s)
  local st = {step = {10, 20}, epoch = {1, 2}, loss = {1 + s / 10, 0.5 + s / 10}}
  return {hash = string.format("%016x", s), task = "t", variant = "a", seed = s,
    config = {seed = s}, status = "ok", metrics = {test_accuracy = 0.9},
    history = {loss = {1 + s / 10, 0.5 + s / 10}, epoch_time = {2, 3}, epochs = 2, steps = st}}
end

T.test("plot_curves: the CSV's comment says what ci95, sd, lo/hi and x = time's x are",
    function()
  local rs = wb.runs.Runs{rec(1), rec(2), rec(3)}
  local c = rs:plot_curves("loss").d.comment
  T.ok(c:find("a column '<variant> ci95': the half-width of the t-based 95 % confidence "
    .. "interval of the mean over the seeds at that point (t(0.975, n - 1) sd / sqrt(n)", 1,
    true), c)
  T.ok(c:find("; the band is the mean ± it", 1, true), c)
  T.ok(not c:find("seconds", 1, true), c)
  -- pandas' hint stays the last line (wb.lab's comment relies on it)
  T.ok(c:find("pandas: read_csv%(path, comment='#'%)$"), c)
  c = rs:plot_curves("loss", {x = "time"}).d.comment
  T.ok(c:find("x ('<variant> x' where the variants' times differ): seconds of training", 1,
    true), c)
  c = rs:plot_curves("loss", {x = "step"}).d.comment
  T.ok(c:find("a column '<variant> sd': the standard deviation over the seeds at that step",
    1, true), c)
  c = rs:plot_curves("loss", {x = "step", logy = true}).d.comment
  T.ok(c:find("columns '<variant> lo' and '<variant> hi': the band, the lowest and the "
    .. "highest seed's value", 1, true), c)
  c = rs:plot_curves("loss", {smooth = 2}).d.comment
  T.ok(c:find("columns '<variant> mean 2 lo' and '<variant> mean 2 hi': the band, the mean - "
    .. "and + its ci95", 1, true), c)
end)

if os.execute("command -v gnuplot >/dev/null 2>&1") ~= true then
  T.skip("a report's own figure says what it shows", "gnuplot is not installed")
  T.done()
  return
end

T.test("a report's own figure, and each panel, says its title, axes and what '<label> sd' is",
    function()
  local dir = T.tmpdir()
  local script, root = dir .. "/cols.lua", dir .. "/root"
  local f = assert(io.open(script, "w"))
  f:write([[
return wb.task{name = "cols", experiment = {base = {epochs = 1, hidden = 8,
    subset = {train = 200, test = 100}}},
  report = function(task, runs)
    local b = wb.plot.bars{title = "Accuracy", labels = {"x"}, values = {86.5}, err = {2},
      ylabel = "test accuracy (%)", err_is = "sd"}
    task:figure("acc", b)
    task:figure("grid", wb.plot.panels{title = "Two", plots = {b, wb.plot.histogram{
      title = "First-layer weights (seed 1)", series = {{label = "a", values = {1, 2}}},
      xlabel = "weight"}}})
  end}
]])
  f:close()
  local st, out, err = T.run_wb(q(script) .. " --root " .. q(root))
  T.eq(st, 0, out .. err)
  local tdir = root .. "/cols"
  local sd = "; a column '<label> sd': the standard deviation over seeds (n - 1); the band or "
    .. "error bar is the value ± it\n"
  for _, name in ipairs{"acc.csv", "grid-1.csv"} do
    local text = T.slurp(tdir .. "/" .. name)
    T.ok(text:find("\n# figure: Accuracy; y: test accuracy (%)" .. sd, 1, true), text)
  end
  local text = T.slurp(tdir .. "/grid-2.csv")
  T.eq(select(2, text:gsub("drawn by task", "")), 1, "the provenance once: " .. text)
  T.ok(text:find("\n# figure: First-layer weights (seed 1); x: weight; y: count\n", 1, true),
    text)
  T.ok(not text:find("'<label> sd'", 1, true), text)
  T.ok(T.slurp(tdir .. "/grid.csv"):find("\n# figure: Two\n", 1, true))
end)

T.done()
