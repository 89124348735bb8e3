-- Small traceability fixes of audit I (item 7): what ± is in a README's
-- tables (a), a measure's NaN warning on the terminal and in the README (b),
-- export_steps's columns of what made a run (c), a second script with the
-- same task name (f).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

T.test("a README table with ± says under it that ± is the sd over seeds (n - 1)", function()
  local t = wb.task{name = "pm", experiment = {base = {epochs = 1, hidden = 8}}}
  local out = io.stdout
  io.stdout = {write = function() end} -- no echo
  t:text("| variant | seeds | test_accuracy |\n|---|---|---|\n| a | 3 | 97.10 ± 0.21 % |\n")
  t:text("| variant | seeds |\n|---|---|\n| a | 1 |\n")
  io.stdout = out
  T.ok(t.blocks[1]:find("| a | 3 | 97.10 ± 0.21 % |\n\n*±: the standard deviation over seeds "
    .. "(n - 1 in its denominator), not a confidence interval.*", 1, true), t.blocks[1])
  T.ok(not t.blocks[2]:find("standard deviation", 1, true), t.blocks[2])
end)

T.test("a measure's NaN warning reaches the terminal and the README", function()
  local script = dir .. "/nanw.lua"
  util.write_file(script, [[
return wb.task{name = "nanw", title = "t",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 200, test = 100}},
    seeds = {1, 2},
    measure = function(model, cfg) return {wn = cfg.seed == 2 and 0 / 0 or 1} end},
  report = function(task, runs) task:text(runs:table{"test_accuracy", "wn"}) end}
]])
  local root = dir .. "/nanw"
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs 2", T.wb, script,
    root))
  T.eq(st, 0, err)
  T.ok(err:find("%[nanw%] base seed 2 %(run %x+%): warning: .*wn = nan: not finite"), err)
  local want = "- base seed 2 (run "
  for _ = 1, 2 do -- trained, then from records
    local md = util.read_file(root .. "/nanw/README.md")
    T.ok(md:find("**Warnings** (1, from the runs' records):", 1, true), md)
    T.ok(md:find(want, 1, true) and md:find("measure wn = nan: not finite, recorded as missing",
      1, true), md)
    st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s", T.wb, script, root))
    T.eq(st, 0, err)
  end
end)

T.test("a second script with another's task name and root is refused, naming both", function()
  local function script(d, title)
    util.mkdir_p(d)
    util.write_file(d .. "/same.lua", string.format([[
return wb.task{name = "same", title = %q,
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 200, test = 100}},
    seeds = {1}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], title))
    return d .. "/same.lua"
  end
  local root = dir .. "/same"
  local a, b = script(dir .. "/a", "A"), script(dir .. "/b", "B")
  local function run(p) return T.sh(string.format("WB_ECHO=0 %s %s --root %s", T.wb, p, root)) end
  local st, _, err = run(a)
  T.eq(st, 0, err)
  local readme = util.read_file(root .. "/same/README.md")
  st, _, err = run(b)
  T.eq(st, 64, err)
  T.ok(err:find(b .. ": task 'same' would write " .. root .. "/same, the README folder of "
    .. "another script's task of the same name, " .. a, 1, true), err)
  T.eq(util.read_file(root .. "/same/README.md"), readme, "a's README is left")
  -- a copy of a (equal content) is a's task
  local c = script(dir .. "/c", "A")
  st, _, err = run(c)
  T.eq(st, 0, err)
  -- once the script that wrote it is gone (moved), another takes the folder, said
  os.remove(c)
  st, _, err = run(b)
  T.eq(st, 0, err)
  T.ok(err:find("which is gone (moved or renamed?)", 1, true), err)
  -- the same file of another clone (a worktree's scripts/same.lua, edited) takes it too
  local c1, c2 = script(dir .. "/c1/scripts", "C1"), script(dir .. "/c2/scripts", "C2")
  T.sh("git init -q " .. T.quote(dir .. "/c1") .. " && git init -q " .. T.quote(dir .. "/c2"))
  T.eq((run(c1)), 64, "b wrote it")
  os.remove(b)
  st, _, err = run(c1)
  T.eq(st, 0, err)
  st, _, err = run(c2)
  T.eq(st, 0, err)
  T.ok(err:find("the same script of another clone (scripts/same.lua)", 1, true), err)
end)

T.test("a plain script's ex:run() under another script's task name and root is refused", function()
  local root = dir .. "/exown"
  util.mkdir_p(dir .. "/exown_s")
  local task, plain = dir .. "/exown_s/abl.lua", dir .. "/exown_s/clash.lua"
  local exp = "{base = {hidden = 8, epochs = 1, subset = {train = 200, test = 100}}, seeds = {1}}"
  util.write_file(task, "return wb.task{name = 'abl', experiment = " .. exp .. ",\n"
    .. "  report = function(task, runs) task:text(runs:table{'test_accuracy'}) end}\n")
  util.write_file(plain, "local e = " .. exp .. "\ne.name = 'abl'\n"
    .. "e.base.hidden = 16\nprint(#wb.experiment(e):run())\n")
  local function run(p, r)
    return T.sh(string.format("WB_ECHO=0 WB_PLOTS=%s %s %s", T.quote(r), T.wb, T.quote(p)))
  end
  local st, _, err = run(task, root)
  T.eq(st, 0, err)
  local before = util.read_file(root .. "/abl/runs.json")
  local out
  st, out, err = run(plain, root)
  T.eq(st, 64, err)
  T.ok(err:find(plain .. ": experiment 'abl' (ex:run()) would record its runs under the task "
    .. "name and root of another script, " .. task, 1, true), err)
  T.ok(err:find("the root " .. root, 1, true) and err:find("nothing trained", 1, true), err)
  T.eq(out, "", "nothing trained")
  T.eq(#wb.runs.find{task = "abl", root = root}, 1, "only the task's run is recorded")
  T.eq(util.read_file(root .. "/abl/runs.json"), before, "the task's folder is left")
  -- the same plain script on another root trains; the task on its own root runs again
  st, out, err = run(plain, dir .. "/exown2")
  T.eq(st, 0, err)
  T.eq(out, "1\n", err)
  st, _, err = run(task, root)
  T.eq(st, 0, err)
  -- -e (and the REPL) is no script: its arg[0], the executable, owns no task folder
  st, out, err = T.sh(string.format("WB_ECHO=0 WB_PLOTS=%s %s -e %s", T.quote(root), T.wb,
    T.quote(util.read_file(plain))))
  T.eq(st, 0, err)
  T.eq(out, "1\n", err)
end)

T.test("a task name first recorded by a plain script's ex:run() is that script's", function()
  -- before: only a task's runs.json named an owner; a task, or another plain script, with
  -- the name and root of a plain script's runs trained, and find{task} listed both (tryR 4)
  local root, d = dir .. "/recown", dir .. "/recown_s"
  util.mkdir_p(d)
  local exp = "{base = {hidden = 8, epochs = 1, subset = {train = 200, test = 100}}, seeds = {1}}"
  local function plain(p, name, hidden)
    util.write_file(p, string.format("local e = %s\ne.name = %q\ne.base.hidden = %d\n"
      .. "print(#wb.experiment(e):run())\n", exp, name, hidden))
    return p
  end
  local function run(p, r, cd)
    return T.sh(string.format("%sWB_ECHO=0 WB_PLOTS=%s %s %s", cd and ("cd " .. T.quote(cd)
      .. " && ") or "", T.quote(r or root), T.quote(require("wb.runner_options").absolute(
      T.wb)), T.quote(p)))
  end
  local a = plain(d .. "/a.lua", "rab", 8)
  local st, out, err = run(a)
  T.eq(st, 0, err)
  local task = d .. "/rab.lua"
  util.write_file(task, "return wb.task{name = 'rab', experiment = " .. exp .. ",\n"
    .. "  report = function(task, runs) task:text(runs:table{'test_accuracy'}) end}\n")
  st, _, err = run(task)
  T.eq(st, 64, err)
  T.ok(err:find(task .. ": task 'rab' would write " .. root .. "/rab, the README folder of "
    .. "another script's task of the same name, " .. a .. " (its run record " .. root
    .. "/runs/rab-", 1, true), err)
  T.ok(err:find("move away its runs' records, " .. root
    .. "/runs/rab-<hash>.json", 1, true), err)
  T.ok(not wb.sys.exists(root .. "/rab/README.md"), "the task wrote nothing")
  local b = plain(d .. "/b.lua", "rab", 16) -- another plain script
  st, out, err = run(b)
  T.eq(st, 64, err)
  T.ok(err:find(b .. ": experiment 'rab' (ex:run()) would record its runs under the task name "
    .. "and root of another script, " .. a .. " (its run record " .. root .. "/runs/rab-", 1,
    true), err)
  T.eq(out, "", "nothing trained")
  T.eq(#wb.runs.find{task = "rab", root = root}, 1, "only a's run is recorded")
  -- a itself from another folder, a copy of it, and -e (no script) go on
  st, out, err = run("a.lua", root, d)
  T.eq(st, 0, err)
  T.eq(out, "1\n", err)
  util.write_file(d .. "/copy.lua", util.read_file(a))
  st, _, err = run(d .. "/copy.lua")
  T.eq(st, 0, err)
  st, out, err = T.sh(string.format("WB_ECHO=0 WB_PLOTS=%s %s -e %s", T.quote(root), T.wb,
    T.quote(util.read_file(b))))
  T.eq(st, 0, err)
  T.eq(out, "1\n", err)
  -- once a is gone, b takes the name, said; a record naming the executable (an older
  -- workbench's -e) names no script
  os.remove(a)
  os.remove(d .. "/copy.lua")
  st, _, err = run(b)
  T.eq(st, 0, err)
  T.ok(err:find("task 'rab' on the root " .. root .. " was " .. a .. "'s (" .. root
    .. "/runs/rab-", 1, true) and err:find("which is gone (moved or renamed?)", 1, true), err)
  local exe = require("wb.runner_options").absolute(T.wb)
  for _, r in ipairs(wb.runs.find{task = "rab", root = root}.records) do
    local f = root .. "/runs/rab-" .. r.hash .. ".json"
    local rec = util.read_json(f)
    rec.script = {path = exe, files = {{path = exe, state = "ignored"}}}
    util.write_json(f, rec)
  end
  st, _, err = run(task)
  T.eq(st, 0, err)
  T.ok(not err:find("was last written", 1, true), err)
end)

T.done()
