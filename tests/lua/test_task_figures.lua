-- test_task_figures.lua: a task's folder holds the figures its last report
-- drew. A figure an earlier report drew under a name this one no longer
-- draws (task 1's per_class_accuracy.png, renamed per_class_error.png) was
-- left beside the new ones, where it looked like this report's.
local T = dofile("tests/lua/harness.lua")

local q = T.quote
local util = require "wb.util"

-- A tiny task drawing one figure named `fig` (and, with two, a second).
local function write_task(path, fig, two)
  local f = assert(io.open(path, "w"))
  f:write(string.format([[
return wb.task{name = "figs", experiment = {base = {epochs = 1, hidden = 8,
    subset = {train = 200, test = 100}}},
  report = function(task, runs)
    task:figure(%q, runs:plot_curves("loss"))
    if %s then task:figure("second", runs:plot_curves("loss")) end
  end}
]], fig, tostring(two)))
  f:close()
end

if os.execute("command -v gnuplot >/dev/null 2>&1") ~= true then
  T.skip("a renamed figure's old files are removed", "gnuplot is not installed")
  T.done()
  return
end

T.test("a figure the last report drew and this one does not is removed, with its CSV and "
    .. "script; a PNG of the user's is named and left", function()
  local dir = T.tmpdir()
  local script, root = dir .. "/figs.lua", dir .. "/root"
  write_task(script, "old_name", true)
  local st, out, err = T.run_wb(q(script) .. " --root " .. q(root))
  T.eq(st, 0, out .. err)
  local tdir = root .. "/figs"
  for _, f in ipairs{"old_name.png", "old_name.csv", "old_name.gp", "second.png"} do
    T.ok(wb.sys.exists(tdir .. "/" .. f), "not drawn: " .. f)
  end
  T.eq(table.concat(util.read_json(tdir .. "/runs.json").figures, " "),
    "old_name.png second.png")
  -- the user's own figure in the folder: never deleted
  local mine = assert(io.open(tdir .. "/mine.png", "wb")); mine:write("x"); mine:close()
  write_task(script, "new_name", false)
  st, out, err = T.run_wb(q(script) .. " --root " .. q(root))
  T.eq(st, 0, out .. err)
  for _, f in ipairs{"old_name.png", "old_name.csv", "old_name.gp", "second.png",
      "second.csv", "second.gp"} do
    T.ok(not wb.sys.exists(tdir .. "/" .. f), "left: " .. f)
  end
  T.ok(wb.sys.exists(tdir .. "/new_name.png"))
  T.ok(err:find("removed " .. tdir .. "/old_name.png", 1, true), err)
  T.ok(err:find(tdir .. "/mine.png was not drawn by this report", 1, true), err)
  T.ok(wb.sys.exists(tdir .. "/mine.png"))
  T.eq(table.concat(util.read_json(tdir .. "/runs.json").figures, " "), "new_name.png")
  -- the same report again: nothing removed, the user's file still named
  st, out, err = T.run_wb(q(script) .. " --root " .. q(root))
  T.eq(st, 0, out .. err)
  T.ok(not err:find("removed", 1, true), err)
  T.ok(wb.sys.exists(tdir .. "/new_name.png"))
end)


-- A figure a report draws itself (not runs:plot_curves', which name their
-- records) said nothing of where it came from once copied out of its folder.
T.test("a figure a report draws itself, and each panel of a panels figure, begins with "
    .. "'# ' lines naming task, script, commit and runs.json", function()
  local dir = T.tmpdir()
  local script, root = dir .. "/own.lua", dir .. "/root"
  local f = assert(io.open(script, "w"))
  f:write([[
return wb.task{name = "own", experiment = {base = {epochs = 1, hidden = 8,
    subset = {train = 200, test = 100}}},
  report = function(task, runs)
    local p = wb.plot.lines{series = {{label = "a", x = {1, 2}, y = {3, 4}}}}
    task:figure("mine", p)
    task:figure("grid", wb.plot.panels{plots = {p, wb.plot.bars{labels = {"x"}, values = {1},
      comment = "its own"}}})
    assert(p.d.comment == nil, "the caller's plot was changed")
  end}
]])
  f:close()
  local st, out, err = T.run_wb(q(script) .. " --root " .. q(root))
  T.eq(st, 0, out .. err)
  local tdir = root .. "/own"
  for _, name in ipairs{"mine.csv", "mine.gp", "grid.csv", "grid-1.csv", "grid.gp"} do
    local text = util.read_file(tdir .. "/" .. name)
    local want = name:match("^grid") and "grid.png" or "mine.png"
    T.ok(text:find("# " .. want .. ": drawn by task own's report (script " .. script, 1, true),
      name .. ": " .. text:sub(1, 300))
    T.ok(text:find("# the runs behind it: runs.json beside this file", 1, true), name)
  end
  -- a panel with a comment of its own keeps it
  local text = util.read_file(tdir .. "/grid-2.csv")
  T.ok(text:find("^# its own\n"), text:sub(1, 200))
  -- pandas reads the figure's CSV past the comment lines
  local py = T.python_with("pandas")
  if py then
    local code = string.format("import pandas as p; d = p.read_csv(%q, comment='#'); "
      .. "print(list(d.columns))", tdir .. "/mine.csv")
    local pst, pout, perr = T.sh(py .. " -c " .. q(code))
    T.ok(pst == 0 and pout:find("'x'", 1, true), pout .. perr)
  end
end)

-- A task script at dir/<name>.lua whose report is `body`: its status,
-- stdout, stderr and task folder, run under dir/root.
local function run_report(name, body)
  local dir = T.tmpdir()
  local script, root = dir .. "/" .. name .. ".lua", dir .. "/root"
  local f = assert(io.open(script, "w"))
  f:write(string.format([[
return wb.task{name = %q, experiment = {base = {epochs = 1, hidden = 8,
    subset = {train = 200, test = 100}}},
  report = function(task, runs)
    local p = wb.plot.lines{series = {{label = "a", x = {1, 2}, y = {3, 4}}}}
%s
  end}
]], name, body))
  f:close()
  local st, out, err = T.run_wb(q(script) .. " --root " .. q(root))
  return st, out, err, root .. "/" .. name, script
end

-- err's last line is the one error line, with no traceback, holding each of wants.
local function one_line_error(err, wants)
  T.ok(not err:find("stack traceback", 1, true), err)
  local last = err:match("([^\n]*)\n?$")
  for _, w in ipairs(wants) do T.ok(last:find(w, 1, true), w .. " in " .. err) end
end

-- tryZ A1: the second figure "curves" replaced the first's PNG; the README
-- showed it twice and runs.json listed it twice, all with exit 0.
T.test("a figure name given twice in one report is an error naming both lines", function()
  local st, out, err, tdir, script = run_report("dup", [[
    task:figure("curves", p)
    task:figure("curves", p)]])
  T.eq(st, 1, out .. err)
  one_line_error(err, {script .. ":6: task:figure: figure 'curves' was given already by this "
    .. "report (at " .. script .. ":5): two figures cannot share one file, curves.png"})
  T.ok(not out:find("wrote", 1, true), out)
  local readme = util.read_file(tdir .. "/README.md") or ""
  T.ok(readme:find("The last report of this task failed", 1, true), readme)
end)

-- tryZ B1, B2: "../ratio_out" was written beside the task's folder, where the
-- clean-up of renamed figures never looked; "Val Loss (%)" made a README
-- link Markdown does not show.
T.test("a figure name that is not a plain file name is refused before anything is written",
    function()
  local st, out, err, tdir = run_report("names", [[
    for _, name in ipairs{"Val Loss (%)", "a/b", "..", ".hidden", "", "x..y", 3} do
      local ok, e = pcall(task.figure, task, name, p)
      print(name, ok, tostring(e))
    end
    task:figure("val_loss-2.v1", p)
    task:figure("../ratio_out", p)]])
  T.eq(st, 1, out .. err)
  one_line_error(err, {"task:figure: name '../ratio_out': expected a plain file name "
    .. "(letters, digits, _, - and ., not beginning with . nor holding ..)"})
  T.ok(not wb.sys.exists(tdir .. "/../ratio_out.png"), "written outside the task's folder")
  T.ok(wb.sys.exists(tdir .. "/val_loss-2.v1.png"), "a plain name refused")
  for _, name in ipairs{"Val Loss (%)", "a/b", "..", ".hidden", "", "x..y"} do
    local pat = name:gsub("%p", "%%%0")
    T.ok(out:find(pat .. "\tfalse\ttask:figure: name '" .. pat .. "': expected a plain file "
      .. "name"), name .. " in " .. out)
    T.ok(not wb.sys.exists(tdir .. "/" .. name .. ".png"), name)
  end
  T.ok(out:find("3\tfalse\t[^\n]*bad argument #1 to 'figure' %(string expected, got number%)"),
    out)
end)

T.done()
