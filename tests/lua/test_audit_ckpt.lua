-- test_audit_ckpt.lua: a trust audit of checkpoints, save_state/resume and
-- safetensors files: a resume into a model of another architecture (same
-- parameter shapes), onto other data of the same row count (fit's help said
-- the data were checked), with another log_every or loss function, that went
-- on silently;
-- a ModelCheckpoint folder that failed only after an epoch of training; a
-- training state that load_weights and wb.load refused as "another
-- architecture"; loader errors placed in the library's own lines. The
-- checks against Python are test_audit_ckpt_python.lua.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local nn = wb.nn

local train, val, data = T.tiny_data()
local dir = T.tmpdir()

local function opts(o)
  local out = {batch_size = 16, verbose = false}
  for k, v in pairs(o or {}) do out[k] = v end
  return out
end

-- T.tiny_mlp(1, true)'s layers with one field changed.
local function variant(act, l2, rate)
  wb.seed(1)
  return nn.Sequential{nn.Dense(8, 12, {activation = act or "relu", l2 = l2 or 1e-3}),
    nn.Dropout(rate or 0.3), nn.Dense(12, 3, {activation = "softmax"})}
end

local function saved_state(name)
  local m = T.tiny_mlp(1, true)
  m:fit(train, opts{epochs = 2})
  local path = dir .. "/" .. name .. ".safetensors"
  m:save_state(path)
  return path, m
end

-- {==================== resume into another architecture ====================

T.test("resume into another activation, l2, dropout rate or layer list is refused", function()
  local path = saved_state("arch")
  local function bad(pat, m)
    local w = m[1].weight:clone()
    T.check_error(pat, m.fit, m, train, opts{epochs = 3, resume = path})
    T.eq((m[1].weight - w):abs():max(), 0, "nothing restored")
  end
  bad("was saved from another model (layer 1 (Dense) has activation = relu there, tanh "
    .. "here)", variant("tanh"))
  bad("layer 1 (Dense) has l2 = 0.001 there", variant(nil, 0))
  bad("layer 2 (Dropout) has rate = 0.3 there, 0.6 here", variant(nil, nil, 0.6))
  wb.seed(1)
  bad("layer 2 is Dropout{rate = 0.3} there, Activation{activation = relu} here",
    nn.Sequential{nn.Dense(8, 12, {activation = "relu", l2 = 1e-3}), nn.Activation("relu"),
      nn.Dense(12, 3, {activation = "softmax"})})
  bad("3 layers there, 2 here", T.tiny_mlp(1))
  -- the saved architecture resumes, also into the model wb.load rebuilds
  T.eq(variant():fit(train, opts{epochs = 3, resume = path}).epochs, 3)
  T.eq(wb.load(path):fit(train, opts{epochs = 3, resume = path}).epochs, 3)
end)

-- }====================
-- {==================== resume onto other data of the same size ====================

T.test("resume onto other rows, labels or validation of the same size is refused", function()
  local path = saved_state("data")
  local other = data:subset(21, 90) -- 70 rows, as train
  local relabel = wb.data.Dataset(train.images, train.labels:clone(), "relabelled")
  relabel.labels:set(1, (relabel.labels:get(1) + 1) % 3)
  local function bad(pat, ds, o)
    local m = T.tiny_mlp(1, true)
    local w = m[1].weight:clone()
    T.check_error(pat, m.fit, m, ds, opts(o))
    T.eq((m[1].weight - w):abs():max(), 0, "nothing restored")
  end
  bad("was trained with training images float32 [70, 8] ", other, {epochs = 3, resume = path})
  bad("was trained with training labels uint8 [70] ", relabel, {epochs = 3, resume = path})
  -- the same data as another Dataset object, a copy: goes on
  local copy = wb.data.Dataset(train.images:clone(), train.labels:clone(), "copy")
  T.eq(T.tiny_mlp(1, true):fit(copy, opts{epochs = 3, resume = path}).epochs, 3)
  local m = T.tiny_mlp(1, true)
  m:fit(train, opts{epochs = 1, validation = val})
  m:save_state(dir .. "/val.safetensors")
  bad("was trained with validation images float32 [20, 8] ", train, {epochs = 2,
    resume = dir .. "/val.safetensors", validation = data:subset(1, 20)})
end)

T.test("resume with another log_every (or none) is refused: history.steps stopped there",
    function()
  local m = T.tiny_mlp(1, true)
  m:fit(train, opts{epochs = 2, log_every = 2})
  local path = dir .. "/log.safetensors"
  m:save_state(path)
  for _, le in ipairs{false, 3} do
    local r = T.tiny_mlp(1, true)
    T.check_error("was trained with log_every (0: none) 2, this fit has " .. (le or 0), r.fit, r,
      train, opts{epochs = 3, resume = path, log_every = le or nil})
  end
  local r = T.tiny_mlp(1, true)
  r:fit(train, opts{epochs = 3, resume = path, log_every = 2})
  T.eq(table.concat(r.history.steps.step, ","), "2,4,6,8,10,12,14")
end)

T.test("resume with another loss function is refused; the same function goes on", function()
  local function scaled(k) -- a new closure per call: identified by its code and k
    return function(out, y) local v, g = wb.losses.mse(out, y); return v * k, g * k end
  end
  local m = T.tiny_mlp(1)
  m:fit(train, opts{epochs = 1, loss = scaled(1)})
  local path = dir .. "/loss.safetensors"
  m:save_state(path)
  local r = T.tiny_mlp(1)
  -- named by the value that differs (its identity as well: test_resumez_loss)
  T.check_error("the loss function %(tests/lua/test_audit_ckpt.lua:105%): upvalue k saved 1, "
    .. "given 100: a resumed fit goes on bit for bit only with the loss function as it was",
    r.fit, r, train, opts{epochs = 2, loss = scaled(100), resume = path})
  T.eq(r:fit(train, opts{epochs = 2, loss = scaled(1), resume = path}).epochs, 2)
end)

-- }====================
-- {==================== ModelCheckpoint's folder, before training ====================

-- fit with a ModelCheckpoint at path: its error, and the epochs trained.
local function checkpoint_fit(path, state)
  local m = T.tiny_mlp(1, true)
  local ok, err = pcall(m.fit, m, train, opts{epochs = 2,
    callbacks = {wb.callbacks.ModelCheckpoint{path, save_state = state}}})
  T.ok(not ok, "expected an error for " .. path)
  return err, m.history.epochs
end

T.test("ModelCheckpoint: a folder that cannot be made or written fails before training",
    function()
  for _, state in ipairs{false, true} do
    local err, epochs = checkpoint_fit("/dev/null/ck-{epoch}.safetensors", state)
    T.eq(wb.is_error(err) and err.code, "ECREATE", tostring(err))
    T.ok(tostring(err):find("ModelCheckpoint: mkdir_p: /dev/null exists and is not a "
      .. "directory", 1, true), tostring(err))
    T.eq(epochs, 0, "no epoch trained first")
    err, epochs = checkpoint_fit(dir, state)
    T.eq(wb.is_error(err) and err.code, "ECREATE", tostring(err))
    T.ok(tostring(err):find("filepath " .. dir .. " is a folder", 1, true), tostring(err))
    T.eq(epochs, 0, "no epoch trained first")
  end
  local ro = dir .. "/ro"
  assert(os.execute("mkdir -p " .. ro))
  if T.sh("mount -t tmpfs -o size=64k,ro tmpfs " .. ro) ~= 0 then
    return print("# read-only folder skipped: this machine refuses `mount -t tmpfs`")
  end
  local ok, err, epochs = pcall(checkpoint_fit, ro .. "/ck.safetensors", true)
  os.execute("umount " .. ro)
  T.ok(ok, tostring(err))
  T.eq(wb.is_error(err) and err.code, "ECREATE", tostring(err))
  T.ok(tostring(err):find("cannot write into folder " .. ro, 1, true), tostring(err))
  T.eq(epochs, 0, "no epoch trained first")
  -- a folder named by a field is made at the save, as before
  local m = T.tiny_mlp(1, true)
  m:fit(train, opts{epochs = 2, callbacks = {wb.callbacks.ModelCheckpoint{dir
    .. "/e{epoch}/w.safetensors"}}})
  T.ok(wb.sys.exists(dir .. "/e2/w.safetensors"))
end)

-- }====================
-- {==================== a training state is a checkpoint too ====================

T.test("load_weights and wb.load read a training state's weights", function()
  local path, m = saved_state("weights")
  local r = variant()
  r:load_weights(path)
  local wa, wr, wl = m:get_weights(), r:get_weights(), wb.load(path):get_weights()
  T.eq(#wr, 4)
  for i = 1, #wa do
    T.eq((wa[i] - wr[i]):abs():max(), 0, "load_weights: weight " .. i)
    T.eq((wa[i] - wl[i]):abs():max(), 0, "wb.load: weight " .. i)
  end
  T.eq(tostring(wb.load(path)[2]), tostring(m[2]))
end)

T.test("wb.load of a weights-only file: EFORMAT naming the file and the fix", function()
  local path = dir .. "/only.safetensors"
  T.tiny_mlp(1):save_weights(path)
  local ok, err = pcall(wb.load, path)
  T.ok(not ok)
  T.eq(wb.is_error(err) and err.code, "EFORMAT")
  T.ok(tostring(err):find(path .. ": no 'workbench.architecture' metadata (saved with "
    .. "save_weights?)", 1, true), tostring(err))
end)

-- }====================
-- {==================== the same model, the same bytes ====================

T.test("the same model saved by other processes gives the same bytes", function()
  -- the tables' key order (metadata, architecture, state JSON) differed
  -- between processes: a file re-written unchanged got another hash
  local files = {}
  for i = 1, 4 do
    local code = string.format("local T = dofile('tests/lua/harness.lua'); "
      .. "local m = T.tiny_mlp(1, true); m:save('%s/same%d.m'); m:save_weights('%s/same%d.w'); "
      .. "m:fit(T.tiny_data(), {epochs = 1, verbose = false}); m:save_state('%s/same%d.s')",
      dir, i, dir, i, dir, i)
    local st, _, err = T.sh(T.quote(T.wb) .. " -e " .. T.quote(code))
    T.eq(st, 0, err)
    local _, meta = wb.io.load_safetensors(dir .. "/same" .. i .. ".s")
    files[i] = {m = io.open(dir .. "/same" .. i .. ".m", "rb"):read("a"),
      w = io.open(dir .. "/same" .. i .. ".w", "rb"):read("a"), state = meta["workbench.state"],
      keys = table.concat(select(3, wb.io.load_safetensors(dir .. "/same" .. i .. ".s")), ",")}
  end
  for i = 2, 4 do
    for _, k in ipairs{"m", "w", "state", "keys"} do
      T.ok(files[i][k] == files[1][k], k .. ": process " .. i .. " wrote other bytes")
    end
  end
  local raw = files[1].m
  local n = string.unpack("<I8", raw)
  local header = raw:sub(9, 8 + n)
  T.ok(header:find('{"__metadata__":{"format":"workbench","workbench.architecture":'
    .. '"[{\\"activation\\":\\"relu\\",\\"init\\"', 1, true), header)
end)

-- }====================
-- {==================== errors at the caller ====================

T.test("a file that does not load: the error is placed at the caller, code kept", function()
  local bad = dir .. "/trunc.safetensors"
  local fh = io.open(bad, "wb"); fh:write("\1\0\0\0"); fh:close()
  local m = T.tiny_mlp(1)
  for _, f in ipairs{function() m:load_weights(bad) end,
      function() wb.load(bad) end, function() m:save(dir) end} do
    local ok, err = pcall(f)
    T.ok(not ok)
    -- a save to a path that cannot be created is the caller's mistake: an
    -- input error (one line, no traceback: tryZ C2), its code kept
    T.ok(wb.is_error(err) or wb.spec.is_input_error(err) and err.code == "ECREATE",
      tostring(err))
    T.ok(not tostring(err):find("checkpoint.lua", 1, true), "in the library: " .. tostring(err))
    T.ok(tostring(err):find("test_audit_ckpt.lua:%d+: "), "at the caller: " .. tostring(err))
  end
  local neg = dir .. "/neg.safetensors" -- a negative size is named by its value
  local header = '{"x":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}}'
  fh = io.open(neg, "wb"); fh:write(string.pack("<I8", #header), header, "\0\0\0\0"); fh:close()
  T.check_error(neg .. ": tensor 'x': shape[2]: expected an unsigned integer, got -1",
    wb.io.load_safetensors, neg)
  local trained = T.tiny_mlp(1)
  trained:fit(train, opts{epochs = 1})
  local ok, err = pcall(function() trained:save_state(dir .. "/none/s.safetensors") end)
  T.ok(not ok and wb.is_error(err) and err.code == "ECREATE", tostring(err))
  T.ok(tostring(err):find("test_audit_ckpt.lua:%d+: "), "at the caller: " .. tostring(err))
  ok, err = pcall(trained.fit, trained, train, opts{epochs = 2, resume = dir .. "/none.st"})
  T.ok(not ok and wb.is_error(err) and err.code == "ENOENT", tostring(err))
  T.ok(tostring(err):find("^fit: resume: " .. dir .. "/none.st: cannot open"), tostring(err))
end)

-- }====================

T.done()
