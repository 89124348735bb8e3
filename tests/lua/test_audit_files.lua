-- test_audit_files.lua: the bad-file audit (files a user names or owns).
-- Each test is a defect found by giving the tool a real file the way a
-- user would: a custom digit that is no PNG, an MNIST folder whose files
-- disagree, a checkpoint whose architecture lies, a training state edited
-- by hand, a run record of the wrong types, an export onto a read-only or
-- full mount. Every failure must name the file and exit with README's
-- status (65 malformed, 73 cannot create, 74 I/O error), and must happen
-- before anything trains or changes.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local cjson = require "cjson"
local dir = T.tmpdir()

local function write(path, s)
  local f = assert(io.open(path, "wb")); f:write(s); f:close()
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- {==== custom digits (task 2) ====

T.test("task 2 refuses a PNG that does not load before anything trains (exit 65)", function()
  local root = dir .. "/t2"
  write(dir .. "/7_empty.png", "")
  local st, _, err = T.sh(string.format("%s scripts/task02_custom_digit.lua --quick --seeds 1 "
    .. "--root %s %s", T.wb, root, dir .. "/7_empty.png"))
  T.eq(st, 65, err)
  T.ok(err:find(dir .. "/7_empty.png: not a PNG file (empty)", 1, true), err)
  T.ok(not wb.sys.exists(root .. "/quick/runs"), "trained before checking the file")
  assert(os.execute("mkdir -p " .. dir .. "/4_folder.png"))
  st, _, err = T.sh(string.format("%s scripts/task02_custom_digit.lua --quick --seeds 1 "
    .. "--root %s %s", T.wb, root, dir .. "/4_folder.png"))
  T.eq(st, 66, err)
  T.ok(err:find("4_folder.png: not a regular file (a directory)", 1, true), err)
  T.ok(not wb.sys.exists(root .. "/quick/runs"), "trained before checking the folder")
end)

-- }====
-- {==== an MNIST folder ($WB_DATA) ====

-- IDX bytes: type 0x08, dims, then the data.
local function idx(dims, data)
  local s = {string.char(0, 0, 8, #dims)}
  for _, d in ipairs(dims) do s[#s + 1] = string.pack(">I4", d) end
  return table.concat(s) .. data
end

local function mnist_folder(name, n_test_labels, bad_label)
  local d = dir .. "/" .. name .. "/mnist"
  assert(os.execute("mkdir -p " .. d))
  for _, p in ipairs{{"train", 6}, {"t10k", 4}} do
    local n = p[2]
    write(d .. "/" .. p[1] .. "-images-idx3-ubyte", idx({n, 28, 28}, string.rep("\0", n * 784)))
    local nl = p[1] == "t10k" and n_test_labels or n
    local labels = {}
    for i = 1, nl do labels[i] = string.char((i - 1) % 10) end
    if p[1] == "t10k" and bad_label then labels[3] = string.char(bad_label) end
    write(d .. "/" .. p[1] .. "-labels-idx1-ubyte", idx({nl}, table.concat(labels)))
  end
  return dir .. "/" .. name
end

T.test("an MNIST folder whose label and image counts disagree: exit 65 naming both files",
  function()
  local data = mnist_folder("counts", 3)
  local st, _, err = T.sh("WB_DATA=" .. data .. " " .. T.wb .. " -e 'print(wb.data.mnist())'")
  T.eq(st, 65, err)
  T.ok(err:find(data .. "/mnist/t10k-labels-idx1-ubyte: 3 labels, but " .. data
    .. "/mnist/t10k-images-idx3-ubyte holds 4 images", 1, true), err)
end)

T.test("an MNIST label file holding 12: exit 65 naming the file and the row", function()
  local data = mnist_folder("label12", 4, 12)
  local st, _, err = T.sh("WB_DATA=" .. data .. " " .. T.wb .. " -e 'print(wb.data.mnist())'")
  T.eq(st, 65, err)
  T.ok(err:find(data .. "/mnist/t10k-labels-idx1-ubyte: label 12 at row 3, expected 0..9",
    1, true), err)
  local good = mnist_folder("good", 4)
  st, _, err = T.sh("WB_DATA=" .. good .. " " .. T.wb .. " -e 'print(#wb.data.mnist().test)'")
  T.eq(st, 0, err)
end)

-- }====
-- {==== checkpoints ====

local function small_model()
  return wb.nn.Sequential{wb.nn.Dense(4, 3, {activation = "relu"}),
    wb.nn.Dense(3, 2, {activation = "softmax"})}
end

T.test("a checkpoint whose architecture disagrees with its tensors: EFORMAT, exit 65",
  function()
  local path = dir .. "/lie.safetensors"
  small_model():save(path)
  local tensors, meta = wb.io.load_safetensors(path)
  meta["workbench.architecture"] = cjson.encode{{kind = "Dense", n_in = 4, n_out = 7},
    {kind = "Dense", n_in = 7, n_out = 2}}
  meta["workbench.checksum"] = nil -- written by hand (a file that keeps it is refused as edited)
  wb.io.save_safetensors(path, tensors, meta)
  local ok, e = pcall(wb.load, path)
  T.ok(not ok and wb.is_error(e), tostring(e))
  T.eq(e.code, "EFORMAT"); T.eq(e.path, path)
  T.ok(tostring(e):find("lie.safetensors: tensor 'layers.1.weight': expected shape [4, 7], "
    .. "got [4, 3]", 1, true), tostring(e))
  local st, _, err = T.sh(T.wb .. " -e " .. q("wb.load('" .. path .. "')"))
  T.eq(st, 65, err)
  -- load_weights of another architecture: the file is at fault, same code
  local other = wb.nn.Sequential{wb.nn.Dense(4, 5), wb.nn.Dense(5, 2)}
  ok, e = pcall(other.load_weights, other, dir .. "/lie.safetensors")
  T.ok(not ok and wb.is_error(e) and e.code == "EFORMAT", tostring(e))
  T.ok(tostring(e):find("expected shape [4, 5], got [4, 3]", 1, true), tostring(e))
end)

-- }====
-- {==== a training state edited by hand ====

local function dataset()
  local x, y = wb.zeros(16, 4), wb.new_tensor({16}, "uint8")
  for i = 1, 16 do
    for j = 1, 4 do x:set(i, j, ((i * 7 + j * 3) % 11) / 11) end
    y:set(i, i % 2)
  end
  return wb.data.Dataset(x, y, "tiny")
end

local state_path = dir .. "/state.safetensors"
do
  wb.seed(1)
  local m = small_model()
  m:fit(dataset(), {epochs = 1, batch_size = 8, verbose = false})
  m:save_state(state_path)
end

-- A copy of the saved state with edit(tensors, meta, st, hist) applied.
local function edited(name, edit)
  local tensors, meta = wb.io.load_safetensors(state_path)
  local st = cjson.decode(meta["workbench.state"])
  local hist = cjson.decode(meta["workbench.history"])
  edit(tensors, meta, st, hist)
  meta["workbench.state"] = cjson.encode(st)
  meta["workbench.history"] = cjson.encode(hist)
  -- written by hand, without the checksum: with it an edit is refused as such first (X16i),
  -- and these are the checks of each field a state without one still gets
  meta["workbench.checksum"] = nil
  local path = dir .. "/" .. name .. ".safetensors"
  wb.io.save_safetensors(path, tensors, meta)
  return path
end

local function resume(path)
  wb.seed(1)
  local m = small_model()
  local before = m[1].weight:clone()
  local ok, e = pcall(m.fit, m, dataset(), {epochs = 2, batch_size = 8, verbose = false,
    resume = path})
  return ok, e, (m[1].weight - before):abs():max()
end

T.test("resume refuses a state edited to wrong types (EFORMAT, naming file and field)",
  function()
  local cases = {
    {"epoch_text", function(_, _, st) st.epoch = "one" end, "'epoch': expected a count"},
    {"epoch_neg", function(_, _, st) st.epoch = -3 end, "'epoch': expected a count"},
    {"iterations", function(_, _, st) st.optimizer.iterations = "x" end,
      "'optimizer.iterations': expected a count"},
    {"rng", function(_, _, st) st.rng = 5 end, "'rng': expected 81 hex digits"},
    {"opt_name", function(_, _, st) st.optimizer.name = "bogus" end,
      "'optimizer': unknown optimizer 'bogus'"},
    {"hist_loss", function(_, _, _, h) h.loss = "x" end,
      "workbench.history 'loss': expected a list of numbers"},
    {"callbacks", function(_, meta) meta["workbench.callbacks"] = '{"a": 1}' end,
      "workbench.callbacks: expected a list"},
    {"moment", function(t) t["optimizer.layers.1.weight.m"] = wb.zeros(12) end,
      "tensor 'optimizer.layers.1.weight.m': expected float32 [4, 3] (its parameter's), "
      .. "got float32 [12]"},
  }
  for _, c in ipairs(cases) do
    local path = edited(c[1], c[2])
    local ok, e, moved = resume(path)
    T.ok(not ok, c[1] .. ": resumed")
    T.ok(wb.is_error(e) and e.code == "EFORMAT" and e.path == path, c[1] .. ": " .. tostring(e))
    T.ok(tostring(e):find("fit: resume: " .. path .. ": ", 1, true)
      and tostring(e):find(c[3], 1, true), c[1] .. ": " .. tostring(e))
    T.eq(moved, 0, c[1] .. ": weights changed before the refusal")
  end
  T.ok(resume(state_path), "the unedited state resumes")
end)

T.test("resume from a model checkpoint, not a state: exit 65 naming the file", function()
  local path = dir .. "/model.safetensors"
  small_model():save(path)
  local ok, e = resume(path)
  T.ok(not ok and wb.is_error(e) and e.code == "EFORMAT", tostring(e))
  T.ok(tostring(e):find(path .. " is not a training state", 1, true), tostring(e))
end)

-- }====
-- {==== run records and exports ====

local function record(hash, extra)
  local r = {hash = hash, task = "t", variant = "base", seed = 1, status = "ok",
    config = {epochs = 2, seed = 1}, history = {loss = {0.5, 0.4}, epochs = 2},
    metrics = {test_accuracy = 0.9}, weights = "t-" .. hash .. ".safetensors"}
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

T.test("a run record edited to wrong types is skipped naming the field, not misread",
  function()
  local cases = {
    {{metrics = {test_accuracy = "high"}}, "field 'metrics.test_accuracy': number expected, "
      .. "got string"},
    {{history = {loss = "x", epochs = 2}}, "field 'history.loss': list of numbers expected"},
    {{history = {loss = {1, "a"}, epochs = 2}}, "field 'history.loss': list of numbers "
      .. "expected, got string at 2"},
    {{history = {loss = {1, 2}, epochs = "two"}}, "field 'history.epochs': integer expected"},
    {{weights = 5}, "field 'weights': string expected, got integer"},
  }
  for i, c in ipairs(cases) do
    local path = string.format("%s/r%d/runs/t-%016x.json", dir, i, i)
    util.write_json(path, record(string.format("%016x", i), c[1]))
    local r, why = wb.record.read(path)
    T.eq(r, nil, c[2])
    T.ok(tostring(why):find(c[2], 1, true), tostring(why))
  end
  local path = dir .. "/ok/runs/t-00000000000000aa.json"
  util.write_json(path, record("00000000000000aa"))
  T.ok(wb.record.read(path), "a well-formed record reads")
end)

local function one_run_root()
  local root = dir .. "/export"
  util.write_json(root .. "/runs/t-00000000000000bb.json", record("00000000000000bb"))
  return root
end

-- f(root, mnt): a run root and a tmpfs mounted at dir/name with mount
-- options opts, unmounted afterwards, also when f fails; a skip named what
-- when this machine refuses to mount.
local function on_tmpfs(name, opts, what, f)
  local root = one_run_root()
  local mnt = dir .. "/" .. name
  assert(os.execute("mkdir -p " .. mnt))
  if T.sh("mount -t tmpfs -o " .. opts .. " tmpfs " .. mnt) ~= 0 then
    return T.skip(what, "this machine refuses `mount -t tmpfs`")
  end
  local ok, why = pcall(f, root, mnt)
  os.execute("umount " .. mnt)
  if not ok then error(why, 0) end
end

T.test("export_csv onto a read-only mount: ECREATE, exit 73", function()
  on_tmpfs("ro", "size=64k,ro", "read-only mount", function(root, ro)
    local okx, e = pcall(wb.runs.export_csv, ro .. "/x.csv", wb.runs.find{root = root})
    T.ok(not okx and wb.is_error(e) and e.code == "ECREATE", tostring(e))
    T.ok(tostring(e):find("wb.runs.export_csv: ", 1, true), tostring(e))
    local st, _, err = T.sh(T.wb .. " -e " .. q("wb.runs.export_history('" .. ro
      .. "/h.csv', wb.runs.find{root = '" .. root .. "'})"))
    T.eq(st, 73, err)
    T.ok(err:find(ro .. "/h.csv", 1, true) and err:find("Read-only file system", 1, true), err)
  end)
end)

T.test("export_csv onto a full disk: EIO, exit 74, no file left", function()
  on_tmpfs("full", "size=8k", "full disk", function(root, full)
    write(full .. "/fill", string.rep("x", 16384)) -- a short write: the disk is full
    local st, _, err = T.sh(T.wb .. " -e " .. q("wb.runs.export_csv('" .. full
      .. "/x.csv', wb.runs.find{root = '" .. root .. "'})"))
    T.eq(st, 74, err)
    T.ok(err:find("No space left on device", 1, true), err)
    T.ok(not wb.sys.exists(full .. "/x.csv"), "a half-written export")
  end)
end)

-- }====

T.done()
