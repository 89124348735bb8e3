-- What a run reads by a name computed at run time: identity.lua sees only
-- the names a hook spells out, so a hook that dofiles, requires or opens a
-- file by a name it builds (dir .. "/params.lua", "arch_" .. cfg.size) once
-- reused its old runs after the file was edited, without a word. The runner
-- now records the files a run read (read_files) and retrains a run whose
-- files changed, naming the file (wb/identity_reads.lua), the files the
-- workbench's own C loaders read (weights, PNG, IDX) among them.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

-- Writes task `name` (its build hook's body `build`, which returns a width;
-- `prelude`: lines at the script's top) and returns a function running it:
-- status, stderr, its record.
local function task(name, build, extra, prelude)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
local here = %q
package.path = here .. "/?.lua;" .. package.path
%s
return wb.task{name = %q, experiment = {seeds = {1}, keys = {"size"},
  base = {size = "small", epochs = 1, subset = {train = 300, test = 100}},
  build = function(cfg)
    local width = (function() %s end)()
    return wb.nn.Sequential{wb.nn.Dense(784, width, {activation = "relu"}),
      wb.nn.Dense(width, 10, {activation = "softmax"})}
  end%s},
  report = function() end}
]], dir .. "/" .. name, prelude or "", name, build, extra or ""))
  wb.sys.mkdir_p(dir .. "/" .. name)
  return function()
    local st, out, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s/r --jobs 1", T.wb,
      path, dir))
    local recs = wb.runs.load_all(dir .. "/r/runs", function(r) return r.task == name end)
    return st, out .. err, recs[1]
  end
end

-- Runs task `run` three times around an edit of file `file` (edit: its new
-- content, or a function writing it): trained, reused while unchanged,
-- retrained (naming the file) once it changed.
local function check_retrains(run, file, edit)
  local st, err, r = run()
  -- "0 cached": trained, or measured on another task's equal training (a shared root)
  T.eq(st, 0, err); T.ok(err:find("1 run: 0 cached, ", 1, true), "first: not cached: " .. err)
  T.ok(r and r.read_files, "the record lists what the run read")
  st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 cached, 0 to train", 1, true), "unchanged: reused: " .. err)
  if type(edit) == "function" then edit() else util.write_file(file, edit) end
  st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 run: 0 cached, ", 1, true), "edited: not cached: " .. err)
  T.ok(err:find(file .. " changed since it was recorded: retraining", 1, true),
    "names the file: " .. err)
  st, err, r = run()
  T.eq(st, 0, err)
  T.ok(err:find("1 cached, 0 to train", 1, true), "the new record: reused: " .. err)
  return r
end

T.test("a file a build hook dofiles by a computed name retrains its runs when edited",
  function()
  local run = task("dof", [[return dofile(here .. "/params.lua").width]])
  util.write_file(dir .. "/dof/params.lua", "return {width = 8}\n")
  local r = check_retrains(run, dir .. "/dof/params.lua", "return {width = 12}\n")
  T.ok(tostring(wb.load(dir .. "/r/runs/" .. r.weights):parameters()[1]):find("[784, 12]", 1,
    true), "trained with the new width")
end)

T.test("a module a build hook requires by a computed name retrains its runs when edited",
  function()
  local run = task("req", [[return require("arch_" .. cfg.size).width]])
  util.write_file(dir .. "/req/arch_small.lua", "return {width = 8}\n")
  check_retrains(run, dir .. "/req/arch_small.lua", "return {width = 10}\n")
end)

T.test("a file a hook reads with io.lines or io.open by a computed name retrains its runs",
  function()
  local run = task("lines", [[local n = 0
    for _ in io.lines(here .. "/vocab.txt") do n = n + 1 end
    return n]])
  util.write_file(dir .. "/lines/vocab.txt", "a\nb\nc\nd\n")
  check_retrains(run, dir .. "/lines/vocab.txt", "a\nb\nc\nd\ne\n")
  -- io.open in a measure hook: re-measured on the file's new content
  run = task("open", "return 8", [[,
  measure = function()
    local f = io.open(here .. "/scale.txt")
    local v = tonumber(f:read("a")); f:close()
    return {scale = v}
  end]])
  util.write_file(dir .. "/open/scale.txt", "2")
  local r = check_retrains(run, dir .. "/open/scale.txt", "3")
  T.eq(r.measures.scale, 3, "measured on the new content")
end)

T.test("a hook reading a command's output (io.popen) is never reused, and says why; the "
    .. "workbench's own commands (gnuplot) do not count", function()
  local run = task("pop", [[local p = io.popen("echo 8"); local w = tonumber(p:read("a"))
    p:close(); return w]])
  local st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 to train", 1, true), err)
  st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 to train", 1, true), "retrained: " .. err)
  T.ok(err:find('io.popen("echo 8") was read by a hook: a command\'s output cannot be '
    .. "checked against the record, so the run is never reused", 1, true), err)
  T.ok(os.execute("command -v gnuplot >/dev/null 2>&1") == true,
    "needs gnuplot (Debian's gnuplot-nox; make deps installs it)")
  run = task("plt", "return 8", [[,
  measure = function()
    wb.plot.lines{series = {{label = "a", y = {1, 2}}}}:save(here .. "/p.png")
    return {drawn = 1}
  end]])
  st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 run: 0 cached, ", 1, true), err)
  st, err = run()
  T.eq(st, 0, err)
  T.ok(err:find("1 cached, 0 to train", 1, true), "a figure drawn by a hook: " .. err)
end)

-- {==================== the workbench's C loaders ====================
-- wb.load, load_weights, wb.image.load and wb.data.idx open their files in
-- C, not through io.open: the bindings tell the tracker (wb.io._observe).

-- Saves a Dense(784, 8), Dense(8, 10) model of seed `seed` to path.
local function save_model(path, seed)
  wb.seed(seed)
  wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
    wb.nn.Dense(8, 10, {activation = "softmax"})}:save(path)
end

T.test("weights a build hook loads by a computed path retrain its runs when edited", function()
  local run = task("wts", [[
    local m = wb.nn.Sequential{wb.nn.Dense(784, 8, {activation = "relu"}),
      wb.nn.Dense(8, 10, {activation = "softmax"})}
    m:load_weights(here .. "/init" .. ".safetensors")
    return 8]])
  local p = dir .. "/wts/init.safetensors"
  save_model(p, 1)
  check_retrains(run, p, function() save_model(p, 2) end)
  -- wb.load, and a checkpoint's tensors read directly
  run = task("wload", [[
    wb.io.load_safetensors(here .. "/t" .. ".safetensors")
    return wb.load(here .. "/init" .. ".safetensors"):parameters()[1]:size(2)]])
  p = dir .. "/wload/init.safetensors"
  save_model(p, 1)
  wb.io.save_safetensors(dir .. "/wload/t.safetensors", {a = wb.zeros(2)})
  check_retrains(run, p, function() save_model(p, 3) end)
  wb.io.save_safetensors(dir .. "/wload/t.safetensors", {a = wb.ones(2)})
  local st, err = run()
  T.eq(st, 0, err)
  T.ok(err:find(dir .. "/wload/t.safetensors changed since it was recorded: retraining", 1,
    true), "names the other file: " .. err)
end)

T.test("a PNG a measure hook loads by a computed path re-measures its runs when edited",
  function()
  local run = task("png", "return 8", [[,
  measure = function()
    return {ink = wb.image.load(here .. "/mask" .. ".png"):sum()}
  end]])
  local p = dir .. "/png/mask.png"
  wb.image.save(wb.zeros(4, 4), p)
  local img = wb.zeros(4, 4)
  img:set(2, 3, 1)
  local r = check_retrains(run, p, function() wb.image.save(img, p) end)
  T.eq(r.measures.ink, 1, "measured on the new image")
end)

-- An IDX file of unsigned bytes, one dimension (magic 0x00000801).
local function write_idx(path, bytes)
  util.write_file(path, "\0\0\8\1" .. string.pack(">I4", #bytes) .. bytes)
end

T.test("an IDX file a build hook loads by a computed path retrains its runs when edited",
  function()
  local run = task("idx", [[return 7 + wb.data.idx(here .. "/w" .. ".idx"):numel()]])
  local p = dir .. "/idx/w.idx"
  write_idx(p, "\1")
  local r = check_retrains(run, p, function() write_idx(p, "\1\2\3") end)
  T.ok(tostring(wb.load(dir .. "/r/runs/" .. r.weights):parameters()[1]):find("[784, 10]", 1,
    true), "trained with the new width")
end)

T.test("the tracker: C reads recorded, nested trackers both see them, the runner's hashing not",
  function()
  local reads = require "wb.identity_reads"
  local a, b, c = dir .. "/tr_a.bin", dir .. "/tr_b.bin", dir .. "/tr_c.idx"
  util.write_file(a, "a"); util.write_file(b, "b"); write_idx(c, "\1")
  local outer = reads.track()
  wb.sys.hash_file(a)             -- a hook's hashing: its result is the content's
  local inner = reads.track()
  wb.data.idx(c)
  reads.file_id(b)                -- the runner's (train.lua find_donor): not a read
  local li, lo = inner:stop(), outer:stop()
  T.eq(#li, 1); T.eq(li[1].path, c)
  T.eq(#lo, 2); T.eq(lo[1].path, a); T.eq(lo[2].path, c)
  T.eq(lo[1].id, wb.sys.hash_file(a), "with its content id")
  T.eq(wb.io._observe(), nil, "no observer left")
  T.eq(wb.data.idx(c):numel(), 1, "the loaders work without one")
  -- a command's output: a hook's is recorded, the workbench's own (its
  -- modules' chunk names, "@.../wb/...") is not; io.popen is restored
  local popen = io.popen
  local t = reads.track()
  local function read(chunkname, n)
    return assert(load("local p = io.popen('echo " .. n .. "'); local s = p:read('a'); "
      .. "p:close() return s", chunkname))()
  end
  T.eq(read("@" .. wb.luadir .. "/wb/fake.lua", 1), "1\n")
  T.eq(read("@" .. dir .. "/hook.lua", 2), "2\n")
  local l = t:stop()
  T.eq(#l, 1); T.eq(l[1].path, 'io.popen("echo 2")'); T.eq(l[1].id, "command")
  T.eq(io.popen, popen, "io.popen restored")
  T.ok(select(2, reads.changed(l)):find("never reused", 1, true))
end)

-- }====================

-- (the runs folder: the runner's own reads there are not recorded, a hook's
-- reads of its files by path are, by content: audit W3, test_identity_w)
T.test("the workbench's modules and the data are not in read_files", function()
  local run = task("own", [[
    local d = wb.data._location(cfg.dataset) -- a dataset file, by a computed name
    local f = assert(io.open(d .. "/t10k-labels-idx1-ubyte", "rb")); f:close()
    require("wb." .. "progress")             -- the workbench's modules
    assert(loadfile(wb.luadir .. "/wb/" .. "pretty.lua"))
    local runs = here:match("^(.*)/[^/]*$") .. "/r/runs" -- its listing: not recorded
    assert(#wb.sys.listdir(runs) > 0 and wb.sys.exists(runs))
    wb.data.idx(d .. "/t10k-labels-idx1-ubyte")              -- the data, in C
    local out = here .. "/out.txt"                         -- files the run writes
    local g = io.open(out, "w"); g:write("1"); g:close(); io.open(out):close()
    wb.image.save(wb.zeros(2, 2), here .. "/out.png"); wb.image.load(here .. "/out.png")
    wb.io.save_safetensors(here .. "/out.safetensors", {a = wb.zeros(1)})
    wb.io.load_safetensors(here .. "/out.safetensors")
    return dofile(here .. "/w.lua")]])
  util.write_file(dir .. "/own/w.lua", "return 8\n")
  local st, err, r = run()
  T.eq(st, 0, err)
  -- files only: $WB_DATA, which wb.data._location read on the hook's behalf,
  -- is recorded as what decides which files a hook loading a set by name
  -- reads (5979abe)
  local paths, own = {}, nil
  for _, e in ipairs(r.read_files or {}) do
    if e.path:sub(1, 1) ~= "$" then paths[#paths + 1], own = e.path, own or e end
  end
  T.eq(table.concat(paths, " "), dir .. "/own/w.lua", "only the hook's own file")
  T.ok(own.id:match("^%x+$") and #own.id == 32, "with its XXH3-128 hash")
end)

T.test("a record from before read_files is reused as before", function()
  local run = task("old", [[return dofile(here .. "/params.lua").width]])
  util.write_file(dir .. "/old/params.lua", "return {width = 8}\n")
  local st, err, r = run()
  T.eq(st, 0, err)
  local path = dir .. "/r/runs/old-" .. r.hash .. ".json"
  local rec = util.read_json(path)
  rec.read_files = nil
  wb.record.write(path, rec) -- with a checksum: only read_files is missing
  st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 cached, 0 to train", 1, true), "reused: " .. err)
end)

T.test("in process (ex:run()), a computed dofile is recorded and an edit retrains", function()
  local p = dir .. "/inproc.lua"
  util.write_file(p, "return 2\n")
  local name = p:sub(1, -5) -- computed: the constant is not a file's name
  local ex = wb.experiment({name = "inproc", seeds = {1},
    base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    measure = function() return {v = dofile(name .. ".lua")} end}, {root = dir .. "/ip"})
  T.eq(ex:run{verbose = false}[1].measures.v, 2)
  T.eq(ex:run{verbose = false}[1].measures.v, 2, "reused")
  util.write_file(p, "return 3\n")
  local r = ex:run{verbose = false}[1]
  T.eq(r.measures.v, 3, "retrained on the edited file")
  T.eq(r.read_files[1].path, p)
  T.eq(dofile, rawget(_G, "dofile"), "the original dofile is back")
end)

T.test("in process, a module edited after a run loaded it is loaded again to retrain",
  function()
  -- package.loaded keeps a module as first loaded: the run retrained for the
  -- edit would use the old one, its record naming the new file
  local saved = package.path
  package.path = dir .. "/?.lua;" .. saved
  util.write_file(dir .. "/ip_arch.lua", "return {v = 2}\n")
  -- loaded here first (the REPL's require): the run trained for the edit
  -- got this copy, its record naming the edited file
  T.eq(require("ip_arch").v, 2)
  local suffix = "arch"
  local ex = wb.experiment({name = "ipreq", seeds = {1},
    base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    measure = function() return {v = require("ip_" .. suffix).v} end}, {root = dir .. "/iq"})
  T.eq(ex:run{verbose = false}[1].measures.v, 2)
  util.write_file(dir .. "/ip_arch.lua", "return {v = 3}\n")
  local r = ex:run{verbose = false}[1]
  T.ok(r, "the retrained run is listed")
  T.eq(r and r.measures.v, 3, "the module as the file is now")
  package.loaded["ip_arch"] = nil
  package.path = saved
end)

T.test("a script started by a relative path whose hook closes over its own folder trains "
    .. "and retrains in its children", function()
  -- the children once got the script's absolute path: `here` differed, so
  -- did the hash, and every run failed ("no run with hash ...")
  local sub = dir .. "/rel"
  wb.sys.mkdir_p(sub)
  util.write_file(sub .. "/w.lua", [[
local here = debug.getinfo(1, "S").source:sub(2):match("(.*)/") or "."
return wb.task{name = "rel", experiment = {seeds = {1},
  base = {epochs = 1, subset = {train = 300, test = 100}},
  build = function()
    local width = dofile(here .. "/p.lua")
    return wb.nn.Sequential{wb.nn.Dense(784, width, {activation = "relu"}),
      wb.nn.Dense(width, 10, {activation = "softmax"})}
  end},
  report = function() end}
]])
  util.write_file(sub .. "/p.lua", "return 8\n")
  local exe = T.wb:sub(1, 1) == "/" and T.wb or os.getenv("PWD") .. "/" .. T.wb
  local function run()
    return T.sh(string.format("cd %s && WB_ECHO=0 %s w.lua --root %s/r --jobs 1", sub, exe, dir))
  end
  local st, out, err = run()
  T.eq(st, 0, out .. err); T.ok(err:find("1 to train", 1, true), err)
  util.write_file(sub .. "/p.lua", "return 12\n")
  st, out, err = run()
  T.eq(st, 0, out .. err)
  T.ok(err:find("./p.lua changed since it was recorded: retraining", 1, true)
    or err:find(sub .. "/p.lua changed since it was recorded: retraining", 1, true), err)
  st, out, err = run()
  T.eq(st, 0, out .. err); T.ok(err:find("1 cached, 0 to train", 1, true), "then reused: " .. err)
  local _, cmds = T.sh(string.format("cd %s && %s w.lua --root %s/r --list-runs", sub, exe, dir))
  T.ok(cmds:find("cd " .. sub .. " && ", 1, true) and cmds:find(" w.lua ", 1, true),
    "the listed command goes to the folder and names the script as given: " .. cmds)
end)

-- {==================== reads the wrapping once missed ====================

T.test("a hook reading through io.open kept in a local at the script's top retrains when "
    .. "the file is edited", function()
  local run = task("loc", [[local f = open(here .. "/w.txt"); local w = tonumber(f:read("a"))
    f:close(); return w]], nil, "local open = io.open")
  util.write_file(dir .. "/loc/w.txt", "8\n")
  check_retrains(run, dir .. "/loc/w.txt", "12\n")
end)

T.test("a hook listing a folder (wb.sys.listdir, also through pcall) retrains when a file "
    .. "is added there, naming the folder", function()
  local run = task("lst", [[local ok, names = pcall(wb.sys.listdir, here .. "/parts")
    return 6 + #names]], nil, "")
  wb.sys.mkdir_p(dir .. "/lst/parts")
  util.write_file(dir .. "/lst/parts/a", "")
  local st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 to train", 1, true), err)
  st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 cached, 0 to train", 1, true), "unchanged: reused: " .. err)
  util.write_file(dir .. "/lst/parts/b", "")
  st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 to train", 1, true), "a file added: retrained: " .. err)
  T.ok(err:find(dir .. "/lst/parts (a folder a hook listed) has other names since it was "
    .. "recorded: retraining", 1, true), err)
  st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 cached, 0 to train", 1, true), "then reused: " .. err)
  os.remove(dir .. "/lst/parts/a"); os.remove(dir .. "/lst/parts/b")
  os.remove(dir .. "/lst/parts")
  st, err = run()
  T.ok(err:find("(a folder a hook listed) was removed since it was recorded", 1, true), err)
end)

T.test("a hook running a command (os.execute) is never reused, and says why", function()
  local run = task("exe", [[os.execute("true"); return 8]])
  local st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 to train", 1, true), err)
  st, err = run()
  T.eq(st, 0, err); T.ok(err:find("1 to train", 1, true), "retrained: " .. err)
  T.ok(err:find('os.execute("true") was run by a hook: what a command reads cannot be '
    .. "checked against the record, so the run is never reused", 1, true), err)
end)

T.test("with no run tracked the wrappers pass everything through", function()
  local reads = require "wb.identity_reads"
  T.ok(reads.standard[io.open] == "io.open" and reads.standard[dofile] == "dofile",
    "io.open and dofile are the wrappers")
  local f = assert(io.open(dir .. "/plain.txt", "w")); f:write("x"); f:close()
  T.eq(io.open(dir .. "/plain.txt"):read("a"), "x")
  T.eq(select("#", os.execute("exit 3")), 3)
  T.eq(select(3, os.execute("exit 3")), 3)
  T.eq(wb.sys.listdir(dir .. "/lst")[1], nil)
  T.eq(select(2, pcall(require, "no_such_module_x")):match("module 'no_such_module_x' not found")
    ~= nil, true)
end)

T.done()
