-- Audit X (bad input and faults: files, environment, processes, CLI): what
-- a user meets when a signal, a full disk, a broken gnuplot or an odd
-- environment variable comes, and the refusals of input the tools cannot run.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local exe = T.wb:sub(1, 1) == "/" and T.wb or (os.getenv("PWD") .. "/" .. T.wb)

-- A small task whose report stops itself with SIGNAL (env SELFKILL) after
-- drawing its figure: a Ctrl-C in the report phase, at a known point.
local task = dir .. "/int_task.lua"
util.write_file(task, [[
return wb.task{name = "int_task", title = "Interrupt",
  experiment = {base = {epochs = 1, hidden = 8, subset = {train = 300, test = 100}}, seeds = {1}},
  report = function(task, runs)
    if not os.getenv("EARLY") then task:figure("val_loss", runs:plot_curves("val_loss")) end
    local sig = os.getenv("SELFKILL")
    if sig then -- popen, not os.execute: system() ignores SIGINT while it waits
      local p = io.popen("kill -" .. sig .. " " .. wb.sys.getpid()); p:read("a"); p:close()
      wb.sys.sleep(600)
    end
    task:text(runs:table{"test_accuracy"})
  end}
]])
local root = dir .. "/r1"

T.test("X1: a report stopped by SIGINT / SIGTERM says one line and marks README.md", function()
  local st, _, err = T.run_wb(T.quote(task) .. " --jobs 1 --root " .. T.quote(root))
  T.eq(st, 0, err)
  local readme = root .. "/int_task/README.md"
  T.ok(not T.slurp(readme):find("interrupted", 1, true))
  for _, sig in ipairs{"INT", "TERM"} do
    st, _, err = T.sh("SELFKILL=" .. sig .. " timeout 600 " .. T.quote(exe) .. " " .. T.quote(task)
      .. " --jobs 1 --root " .. T.quote(root) .. " </dev/null")
    T.eq(st, sig == "INT" and 130 or 143, err)
    T.ok(not err:find("traceback", 1, true), err)
    T.ok(err:find("[int_task] interrupted: the report was stopped before it ended; "
      .. readme .. " says so on top", 1, true), err)
    local text = T.slurp(readme)
    T.ok(text:find("**The last report of this task was interrupted**", 1, true), text)
    T.ok(text:find("val_loss.png", 1, true), "the figure redrawn is named")
    -- the earlier (whole) report stays below the mark, once
    local _, n = text:gsub("<!%-%- wb: below, the README of an earlier report", "")
    T.eq(n, 1, text)
    T.ok(text:find("*Produced by `", 1, true), "the earlier README is kept below the mark")
  end
  -- a whole report afterwards replaces the mark
  st, _, err = T.run_wb(T.quote(task) .. " --jobs 1 --root " .. T.quote(root))
  T.eq(st, 0, err)
  T.ok(not T.slurp(readme):find("interrupted", 1, true))
end)

T.test("X1: a report killed outright (SIGKILL) leaves README.md marked as not ended", function()
  local readme = root .. "/int_task/README.md"
  local st, _, err = T.sh("SELFKILL=KILL timeout 600 " .. T.quote(exe) .. " " .. T.quote(task)
    .. " --jobs 1 --root " .. T.quote(root) .. " </dev/null")
  T.eq(st, 137, err)
  local text = T.slurp(readme)
  -- the figure is this report's, the README below the mark an earlier one's
  T.ok(text:find("**A report of this task was started**", 1, true), text)
  T.ok(text:find("it was killed", 1, true), text)
  local _, n = text:gsub("<!%-%- wb: below, the README of an earlier report", "")
  T.eq(n, 1, text)
  T.ok(text:find("*Produced by `", 1, true), "the earlier README is kept below the mark")
  -- killed again: still one earlier README below one mark, not the mark nested
  st, _, err = T.sh("SELFKILL=KILL timeout 600 " .. T.quote(exe) .. " " .. T.quote(task)
    .. " --jobs 1 --root " .. T.quote(root) .. " </dev/null")
  T.eq(st, 137, err)
  text = T.slurp(readme)
  local _, starts = text:gsub("A report of this task was started", "")
  T.eq(starts, 1, text)
  T.ok(text:find("*Produced by `", 1, true), text)
  -- a whole report replaces the mark
  st, _, err = T.run_wb(T.quote(task) .. " --jobs 1 --root " .. T.quote(root))
  T.eq(st, 0, err)
  text = T.slurp(readme)
  T.ok(not text:find("was started", 1, true) and not text:find("earlier report", 1, true), text)
end)

T.test("X1: stopped before any figure, with no earlier README: nothing written", function()
  local r = dir .. "/r1b"
  local st, _, err = T.sh("EARLY=1 SELFKILL=INT timeout 600 " .. T.quote(exe) .. " "
    .. T.quote(task) .. " --jobs 1 --root " .. T.quote(r) .. " </dev/null")
  T.eq(st, 130, err)
  T.ok(err:find("[int_task] interrupted: the report was stopped before it ended; nothing was "
    .. "written (no figure yet, no earlier README)", 1, true), err)
  T.ok(not wb.sys.exists(r .. "/int_task/README.md"), "no README from partial data")
end)

T.test("X14: output lost to a failed write (here /dev/full) ends with a message and 74",
    function()
  for _, code in ipairs{"print(1)", "io.write(string.rep('x', 100000))",
      "io.write('x'); os.exit(0)", "print(1); os.exit(true)"} do
    local st, _, err = T.sh("sh -c " .. T.quote(T.quote(exe) .. " -e " .. T.quote(code)
      .. " </dev/null >/dev/full"))
    T.eq(st, 74, code .. ": " .. err)
    T.ok(err:find("stdout: .*what was written there is incomplete"), code .. ": " .. err)
  end
  -- a script's own failure keeps its status, and says the lost output too
  local st, _, err = T.sh("sh -c " .. T.quote(T.quote(exe) .. " -e 'print(1) error(\"boom\")'"
    .. " >/dev/full"))
  T.eq(st, 1, err)
  T.ok(err:find("boom", 1, true) and err:find("stdout:", 1, true), err)
  -- a closed pipe stays dropped on purpose (README, Exit status)
  st, _, err = T.sh("sh -c " .. T.quote(T.quote(exe) .. " -e 'for i = 1, 100000 do print(i) end'"
    .. " | head -1"))
  T.eq(st, 0, err)
  T.ok(not err:find("incomplete", 1, true), err)
  st, _, err = T.sh(T.quote(exe) .. " -e 'for i = 1, 100000 do print(i) end; os.exit(0)' "
    .. "| head -1")
  T.ok(not err:find("incomplete", 1, true), err)
end)

T.test("X9: a gnuplot that exits 0 with no whole PNG: the figure is not drawn, said", function()
  local good = dir .. "/good.png"
  wb.plot.lines{series = {{label = "l", y = {1, 0.5}}}}:save(good)
  local png = T.slurp(good)
  local bad = {
    {"garbage not a png", "is not a PNG %(17 bytes, starting \"garbage not a png\"%)"},
    {png:sub(1, 200), "is a PNG cut short %(no IEND chunk%) %(200 bytes"},
    {png .. "junk", "is a PNG with 4 bytes after its end"},
    -- a byte of the image data changed: chunks whole, the data is not
    {png:sub(1, 100) .. string.char((png:byte(101) + 1) % 256) .. png:sub(102),
      "is a PNG that does not decode"},
  }
  for i, case in ipairs(bad) do
    local out, prog = dir .. "/out" .. i .. ".bin", dir .. "/gnuplot" .. i
    util.write_file(out, case[1])
    -- called as `gnuplot -c NAME.gp TMP.png` from the figure's folder
    util.write_file(prog, "#!/bin/sh\ncp " .. T.quote(out) .. " \"$3\"\n")
    os.execute("chmod +x " .. T.quote(prog))
    local fig = dir .. "/fig" .. i .. ".png"
    util.write_file(fig, png) -- an earlier figure of that name
    wb.plot.gnuplot = prog
    local ok, err = pcall(function()
      wb.plot.lines{series = {{label = "l", y = {1, 0.25 * i}}}}:save(fig)
    end)
    wb.plot.gnuplot = nil
    T.ok(not ok, "case " .. i .. " taken as drawn")
    T.ok(tostring(err):find("gnuplot %(" .. prog:gsub("%p", "%%%0") .. "%) exited 0, but the "
      .. "image it wrote for " .. fig:gsub("%p", "%%%0") .. " " .. case[2]), tostring(err))
    T.ok(not wb.sys.exists(fig), "no figure of other data beside the new CSV")
    T.ok(T.slurp(dir .. "/fig" .. i .. ".gp"):find("not drawn yet", 1, true), "the .gp says so")
    local left = 0
    for _, f in ipairs(wb.sys.listdir(dir)) do
      if f:match("%.tmp%.png$") then left = left + 1 end
    end
    T.eq(left, 0, "no temporary PNG left")
  end
end)

T.test("X5: a child's error reaches its FAILED line when its log cannot be written", function()
  local t = dir .. "/fail_task.lua"
  util.write_file(t, [[
return wb.task{name = "fail_task", title = "fail",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    seeds = {1, 2},
    measure = function(model, cfg)
      if cfg.seed == 2 then error("planned failure: the disk is full") end
      return {}
    end},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])
  local r = dir .. "/r5"
  local st, out, err = T.run_wb(T.quote(t) .. " --root " .. T.quote(r) .. " --list-runs")
  T.eq(st, 0, err)
  -- every log /dev/full: the shell's writes to it fail (ENOSPC), as on a full
  -- disk where the empty log could still be created (a folder in its place is
  -- a run that cannot start: test_sigx_runner)
  T.eq(os.execute("mkdir -p " .. T.quote(r .. "/runs/logs")), true)
  for h in out:gmatch("%-%-run (%x+)") do
    T.eq(os.execute("ln -s /dev/full " .. T.quote(r .. "/runs/logs/fail_task-" .. h .. ".log")),
      true)
  end
  st, _, err = T.run_wb(T.quote(t) .. " --root " .. T.quote(r) .. " --jobs 1")
  T.eq(st, 1, err)
  T.ok(err:find("seed 2: FAILED (exit 1): workbench: ", 1, true)
    and err:find("planned failure: the disk is full", 1, true), err)
  T.ok(err:find("not written whole", 1, true), err)
  T.ok(not err:find("printf", 1, true) and not err:find("No space left on device", 1, true), err)
end)

T.test("X5: the up-front refusal of a root without room is one line, 74", function()
  -- 9 runs need about 18 MB; a tmpfs is not at hand, so df is faked
  local bin = dir .. "/fakedf"
  os.execute("mkdir -p " .. T.quote(bin))
  util.write_file(bin .. "/df", "#!/bin/sh\nprintf 'Filesystem 1024-blocks Used Available "
    .. "Capacity Mounted on\\nx 2000 800 1196 41%% /x\\n'\n")
  os.execute("chmod +x " .. T.quote(bin .. "/df"))
  local st, _, err = T.sh("PATH=" .. T.quote(bin) .. ":$PATH " .. T.quote(exe) .. " "
    .. T.quote(task) .. " --root " .. T.quote(dir .. "/r5b") .. " --seeds 3 </dev/null")
  T.eq(st, 74, err)
  T.ok(err:find("1196 KiB free, 3 runs need about 6144 KiB", 1, true), err)
  T.ok(not err:find("traceback", 1, true), err)
end)

T.test("X4: temporary files go to $TMPDIR (else /tmp); a folder that fails is named", function()
  local tmpd = dir .. "/tmpd"
  os.execute("mkdir -p " .. T.quote(tmpd))
  local st, out, err = T.sh("TMPDIR=" .. T.quote(tmpd) .. " " .. T.quote(exe)
    .. " -e 'print(require(\"wb.util\").tmpname()); print(wb.sys.mktemp(\"dir\"))'")
  T.eq(st, 0, err)
  for p in out:gmatch("[^\n]+") do
    T.eq(p:sub(1, #tmpd + 4), tmpd .. "/wb_", out)
    T.ok(wb.sys.exists(p), p)
  end
  local gone = dir .. "/no/such/folder"
  -- a task's children need two: refused naming the folder, one line, 73
  st, _, err = T.sh("TMPDIR=" .. T.quote(gone) .. " " .. T.quote(exe) .. " " .. T.quote(task)
    .. " --root " .. T.quote(dir .. "/r4") .. " </dev/null")
  T.eq(st, 73, err)
  T.ok(err:find("cannot create a temporary file in " .. gone .. " ($TMPDIR): No such file "
    .. "or directory; set TMPDIR to a writable folder", 1, true), err)
  T.ok(not err:find("traceback", 1, true), err)
  st, _, err = T.sh("TMPDIR=" .. T.quote(gone) .. " " .. T.quote(exe) .. " -e "
    .. T.quote("wb.plot.lines{series = {{label = 'l', y = {1, 0.5}}}}:show()"))
  T.eq(st, 73, err)
  T.ok(err:find("cannot create a temporary folder in " .. gone, 1, true), err)
end)

T.test("X12: a task read from stdin is refused before anything starts, 64", function()
  local root12 = dir .. "/r12"
  for _, how in ipairs{" - --root " .. T.quote(root12), ""} do
    local st, _, err = T.sh("cd " .. T.quote(dir) .. " && " .. (how == "" and "WB_PLOTS="
      .. T.quote(root12) .. " " or "") .. T.quote(exe) .. how .. " < " .. T.quote(task))
    T.eq(st, 64, err)
    T.ok(err:find("int_task: a task read from stdin cannot be run: its runs train in child "
      .. "processes", 1, true) and err:find("save it to a file", 1, true), err)
    T.ok(not wb.sys.exists(root12), "nothing written")
  end
end)

T.test("X11: an empty $WB_PLOTS or $WB_GNUPLOT is an error naming it", function()
  -- the root was "": the runner wrote /runs and /<task> (not tried here
  -- unless the refusal is in place), its children under the cwd
  local st, _, err = T.sh("WB_PLOTS= " .. T.quote(exe) .. " -e 'print(wb.record.dir())'")
  T.eq(err, "workbench: $WB_PLOTS is set but empty: unset it (the root is then plots) or "
    .. "set it to a folder\n")
  T.eq(st, 1, err)
  if st ~= 1 then return end
  st, _, err = T.sh("cd " .. T.quote(dir) .. " && WB_PLOTS= " .. T.quote(exe) .. " "
    .. T.quote(task) .. " --seeds 1 </dev/null")
  T.eq(st, 1, err)
  T.eq(err, "workbench: $WB_PLOTS is set but empty: unset it (the root is then plots) or "
    .. "set it to a folder\n")
  st, _, err = T.sh("WB_GNUPLOT= " .. T.quote(exe) .. " " .. T.quote(task) .. " --root "
    .. T.quote(dir .. "/r11") .. " --seeds 2 </dev/null")
  T.eq(st, 1, err)
  T.ok(err:find("[int_task] $WB_GNUPLOT is set but empty", 1, true), err)
  T.ok(not err:find("traceback", 1, true), err)
end)

T.test("X16f: a root holding a newline is refused, a missing gnuplot said, before training",
    function()
  local st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(dir .. "/a\nb"))
  T.eq(st, 64, err)
  T.ok(err:find("holds a newline: figures cannot be saved there", 1, true), err)
  T.ok(not wb.sys.exists(dir .. "/a\nb"), "nothing written")
  st, _, err = T.sh("WB_GNUPLOT=" .. T.quote(dir .. "/no/gnuplot") .. " " .. T.quote(exe) .. " "
    .. T.quote(task) .. " --root " .. T.quote(dir .. "/r16f") .. " --jobs 1 </dev/null")
  T.eq(st, 0, err)
  local first, second = err:match("^([^\n]*)\n([^\n]*)")
  T.eq(first, "[int_task] 1 run: 0 cached, 1 to train (1 job)", err)
  T.ok(second:find("[int_task] no figure will be drawn: gnuplot not found", 1, true), err)
end)

T.test("X8: a precompiled chunk as the script (file, -, stdin) is refused, naming it", function()
  local src = dir .. "/bc.lua"
  util.write_file(src, "print('ran')\n")
  -- the bytes luac writes, made here (luac5.4 may be missing): string.dump
  local bc = dir .. "/bc.luac"
  util.write_file(bc, string.dump(load(util.read_file(src))))
  for _, how in ipairs{T.quote(bc), "- < " .. T.quote(bc), "< " .. T.quote(bc)} do
    local st, out, err = T.sh(T.quote(exe) .. " " .. how)
    T.eq(st, 1, how .. ": " .. err)
    T.eq(out, "", how)
    T.ok(err:find(": a precompiled Lua chunk (luac output): workbench runs Lua source only",
      1, true), err)
    T.ok(err:find(how:sub(1, 1) == "'" and bc or "stdin", 1, true), err)
  end
  -- after a '#' first line too, as Lua skips it
  util.write_file(bc, "#!/usr/bin/env workbench\n" .. string.dump(load("print(1)")))
  local st, _, err = T.sh(T.quote(exe) .. " " .. T.quote(bc))
  T.ok(st == 1 and err:find("a precompiled Lua chunk", 1, true), err)
end)

T.test("X15: without git on PATH, said once, and the README says 'git not available'",
    function()
  local bin = dir .. "/nogit"
  os.execute("mkdir -p " .. T.quote(bin) .. " && cd " .. T.quote(bin) .. " && for f in "
    .. "/usr/bin/* /bin/*; do n=$(basename \"$f\"); [ \"$n\" = git ] || [ -e \"$n\" ] || "
    .. "ln -s \"$f\" \"$n\"; done")
  local r = dir .. "/r15"
  local st, _, err = T.sh("PATH=" .. T.quote(bin) .. " " .. T.quote(exe) .. " " .. T.quote(task)
    .. " --root " .. T.quote(r) .. " --jobs 1 </dev/null")
  T.eq(st, 0, err)
  local _, n = err:gsub("git not found on PATH: runs are recorded without their commit\n", "")
  T.eq(n, 1, err)
  local md = T.slurp(r .. "/int_task/README.md")
  T.ok(md:find("commit unknown (git not available)", 1, true), md)
  T.ok(md:find("not in a commit (git not available: not on PATH)", 1, true), md)
  T.ok(not md:find("no git repository", 1, true), md)
end)

T.test("X16a: `--` ends a task's options; its children's commands keep it after theirs",
    function()
  local ropts = require "wb.runner_options"
  local o = wb.runner.options{"--quick", "--", "-x.png", "--seeds"}
  T.eq(o.quick, true)
  T.eq(o.seeds, nil)
  T.eq(table.concat(o.rest, "|"), "-x.png|--seeds")
  local cmd = ropts.command_maker("t.lua", o, "/r")("abc", true)
  local function ends(c, x) T.eq(c:sub(-#x), x, c) end
  ends(cmd, "t.lua --quick --root /r --run abc -- -x.png --seeds")
  o.fresh = true
  cmd = ropts.command_maker("t.lua", o, "/r")("abc", true)
  ends(cmd, "--run abc --fresh -- -x.png --seeds")
  -- without `--`, as before
  cmd = ropts.command_maker("t.lua", wb.runner.options{"a.png"}, "/r")("abc", true)
  ends(cmd, "t.lua a.png --root /r --run abc")
end)

T.test("X16b: integer options take decimal digits only", function()
  for _, v in ipairs{"0x2", " 2", "2.0", "1e1", "+2", "2 "} do
    local ok, e = pcall(wb.runner.options, {"--seeds", v})
    T.ok(not ok and tostring(e):find("expects an integer from 1 to", 1, true), v)
    ok = pcall(wb.runner.options, {"--jobs=" .. v})
    T.ok(not ok, v)
  end
  T.eq(wb.runner.options{"--seeds", "010"}.seeds, 10)
  T.eq(wb.runner.options{"--jobs=2"}.jobs, 2)
end)

T.test("X16g: a run's spec path taken by a folder: one line naming it, 73", function()
  local r = dir .. "/r16g"
  local st, out, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(r) .. " --list-runs")
  T.eq(st, 0, err)
  local h = out:match("%-%-run (%x+)")
  local spec = r .. "/runs/int_task-" .. h .. ".spec"
  os.remove(spec)
  os.execute("mkdir -p " .. T.quote(spec))
  st, _, err = T.run_wb(T.quote(task) .. " --root " .. T.quote(r))
  T.eq(st, 73, err)
  T.ok(err:find("[int_task] cannot write the spec of run " .. h .. ": write_atomic: " .. spec
    .. " is a folder", 1, true), err)
  T.ok(not err:find("traceback", 1, true), err)
end)

T.done()
