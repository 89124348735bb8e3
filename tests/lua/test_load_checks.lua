-- test_load_checks.lua: what the loaders (wb.load, model:load_weights)
-- check of a file before they take its weights, and what the runner's
-- weight files say of where they come from.
-- 1. A training state's checksum (workbench.checksum, save_state): fit's
--    resume refused a file whose content did not match it, wb.load and
--    load_weights loaded it silently (a bit flipped in layers.1.weight made
--    a weight 1.4e35). Both now refuse it as the resume does (EFORMAT, exit
--    status 65), naming the file.
-- 2. load_weights into a model of another architecture with the same
--    shapes (another activation, dropout rate, use_bias, layer kind) went
--    through, though its help says "same architecture": refused, naming the
--    file, the layer and both values. l2 and init are not compared (they
--    only train); a file without the architecture loads by shapes.
-- 3. The runner's weight files (<task>-<hash>.safetensors, .best) carried
--    only format, version and architecture: apart from its record a file
--    could not be traced. They carry the run's task, hash, variant, seed,
--    git commit and uncommitted count, and the epoch of the weights
--    (model:save's new metadata option), and Python still reads them.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"
local cjson = require "cjson"
local nn = wb.nn

local train = T.tiny_data()
local dir = T.tmpdir()

-- T.tiny_mlp(1, true)'s layers with one field changed.
local function variant(o)
  o = o or {}
  wb.seed(1)
  return nn.Sequential{nn.Dense(8, 12, {activation = o.act or "relu", l2 = o.l2 or 1e-3,
    init = o.init, bias = o.bias}), o.second or nn.Dropout(o.rate or 0.3),
    nn.Dense(12, 3, {activation = "softmax"})}
end

-- The file at path with bit `mask` of byte `k` (1-based) of tensor name's
-- elements flipped: still a well-formed file.
local function flip(path, name, k, mask)
  local bytes = util.read_file(path)
  local n = string.unpack("<I8", bytes)
  local header = cjson.decode(bytes:sub(9, 8 + n))
  local at = 8 + n + header[name].data_offsets[1] + k
  util.write_file(path, bytes:sub(1, at - 1) .. string.char(bytes:byte(at) ~ mask)
    .. bytes:sub(at + 1))
end

local function weights_of(m)
  local out = {}
  for i, p in ipairs(m:parameters()) do out[i] = p:clone() end
  return out
end

local function unchanged(m, before, what)
  for i, p in ipairs(m:parameters()) do
    T.eq((p - before[i]):abs():max(), 0, what .. ": parameter " .. i .. " unchanged")
  end
end

-- {==================== 1. a training state's checksum ====================

local function state_file(name)
  local m = T.tiny_mlp(1, true)
  m:fit(train, {epochs = 1, batch_size = 16, verbose = false})
  local path = dir .. "/" .. name .. ".safetensors"
  m:save_state(path)
  return path
end

T.test("a state with a bit flipped in layers.1.weight: wb.load and load_weights refuse it "
  .. "as fit's resume does (EFORMAT, naming the file)", function()
  local path = state_file("flipped")
  flip(path, "layers.1.weight", 4, 0x40) -- the first weight's exponent: 1e35 or so
  local t = wb.io.load_safetensors(path)
  T.ok(t["layers.1.weight"]:abs():max() > 1e30, "the flip made a huge, finite weight")
  local want = path .. ": its content does not match the checksum written with it ("
  local m = variant()
  T.check_error("fit: resume: " .. want, m.fit, m, train, {epochs = 2, batch_size = 16,
    verbose = false, resume = path})
  local ok, e = pcall(wb.load, path)
  T.ok(not ok and wb.is_error(e) and e.code == "EFORMAT" and e.path == path, tostring(e))
  T.ok(e.message:find(want, 1, true) and e.message:find("; nothing loaded", 1, true),
    e.message)
  local before = weights_of(m)
  ok, e = pcall(m.load_weights, m, path)
  T.ok(not ok and wb.is_error(e) and e.code == "EFORMAT" and e.path == path, tostring(e))
  T.ok(e.message:find(want, 1, true), e.message)
  unchanged(m, before, "load_weights")
  -- an optimizer buffer flipped: the weights are intact, the file is not as written
  path = state_file("flipped_opt")
  flip(path, "optimizer.layers.1.weight.m", 1, 1)
  T.check_error(want:gsub("flipped", "flipped_opt"), wb.load, path)
end)

T.test("a state whose checksum matches, or that has none (an older one), loads", function()
  local path = state_file("intact")
  local a = wb.load(path)
  local b = variant():load_weights(path)
  T.eq((a[1].weight - b[1].weight):abs():max(), 0)
  local tensors, meta = wb.io.load_safetensors(path)
  meta["workbench.checksum"] = nil
  wb.io.save_safetensors(path, tensors, meta)
  T.eq((wb.load(path)[1].weight - a[1].weight):abs():max(), 0, "without a checksum")
end)

T.test("the refusal's exit status is the resume's: 65", function()
  local path = state_file("status")
  flip(path, "layers.1.weight", 4, 0x40)
  local out = dir .. "/status.out"
  local _, how, code = os.execute(string.format("%s -e %s 2>%s", T.quote(T.wb),
    T.quote("wb.load('" .. path .. "')"), T.quote(out)))
  T.eq(how .. " " .. code, "exit 65", util.read_file(out))
  T.ok(util.read_file(out):find(path, 1, true), util.read_file(out))
end)

-- }====================
-- {==================== 2. load_weights: the saved architecture ====================

T.test("load_weights refuses a model computing another function of the same shapes, "
  .. "naming the file, the layer and both values", function()
  local path = dir .. "/arch.safetensors"
  variant():save(path)
  local function refused(want, m)
    local before = weights_of(m)
    local ok, e = pcall(m.load_weights, m, path)
    T.ok(not ok and wb.is_error(e) and e.code == "EFORMAT" and e.path == path, tostring(e))
    T.ok(e.message:find(path .. ": saved from another architecture (" .. want, 1, true),
      e.message)
    unchanged(m, before, want)
  end
  refused("layer 1 (Dense) has activation = relu there, tanh here", variant{act = "tanh"})
  refused("layer 2 (Dropout) has rate = 0.3 there, 0.5 here", variant{rate = 0.5})
  -- use_bias and widths change the tensors: refused by them, naming the tensor
  local m = variant{bias = false}
  T.check_error(path .. ": unexpected tensor 'layers.1.bias'", m.load_weights, m, path)
  refused("layer 2 is Dropout{rate = 0.3} there, Activation{activation = relu} here",
    variant{second = nn.Activation("relu")})
  -- a training state holds the architecture too
  local spath = state_file("arch_state")
  m = variant{act = "tanh"}
  T.check_error(spath .. ": saved from another architecture (layer 1 (Dense) has activation "
    .. "= relu there, tanh here", m.load_weights, m, spath)
end)

T.test("load_weights takes another l2 or init (they only train), and a file without the "
  .. "architecture by its shapes", function()
  local path = dir .. "/l2.safetensors"
  local src = variant()
  src:save(path)
  for _, m in ipairs{variant{l2 = 0}, variant{init = "he_normal"}} do
    m:load_weights(path)
    T.eq((m[1].weight - src[1].weight):abs():max(), 0)
  end
  -- save_weights (and Python) write no architecture: shapes alone, as before
  local wpath = dir .. "/weights_only.safetensors"
  src:save_weights(wpath)
  local m = variant{act = "tanh"}:load_weights(wpath)
  T.eq((m[1].weight - src[1].weight):abs():max(), 0)
  T.check_error("no 'workbench.architecture' metadata", wb.load, wpath)
end)

T.test("malformed architecture metadata: load_weights refuses it naming the file", function()
  local path = dir .. "/badarch.safetensors"
  variant():save(path)
  local tensors, meta = wb.io.load_safetensors(path)
  meta["workbench.architecture"] = "{not json"
  meta["workbench.checksum"] = nil -- written by hand (with it: refused as edited, below)
  wb.io.save_safetensors(path, tensors, meta)
  local m = variant()
  T.check_error(path .. ": bad workbench.architecture metadata", m.load_weights, m, path)
end)

-- audit X10: model:save's file had no checksum, so an edited architecture
-- (relu -> tanh: the same tensors under another function) or a flipped
-- weight bit loaded without a word; save_state's was refused. Now save and
-- save_weights write it, and both loaders check it.
T.test("save and save_weights carry a checksum: an edited file is refused by both loaders",
  function()
  for _, how in ipairs{"save", "save_weights"} do
    local path = dir .. "/edited_" .. how .. ".safetensors"
    wb.seed(3)
    local src = nn.Sequential{nn.Dense(8, 3, {activation = "relu"})}
    src[how](src, path)
    local tensors, meta = wb.io.load_safetensors(path)
    T.ok(meta["workbench.checksum"], how .. " writes a checksum")
    local edits = {function() tensors["layers.1.bias"]:set(1, 2.5) end}
    if how == "save" then
      edits[2] = function()
        meta["workbench.architecture"] = meta["workbench.architecture"]:gsub("relu", "tanh")
      end
    end
    for e, edit in ipairs(edits) do
      src[how](src, path)
      tensors, meta = wb.io.load_safetensors(path)
      edit()
      wb.io.save_safetensors(path, tensors, meta)
      local m = nn.Sequential{nn.Dense(8, 3, {activation = e == 2 and "tanh" or "relu"})}
      T.check_error(path .. ": its content does not match the checksum written with it",
        m.load_weights, m, path)
      if how == "save" then
        T.check_error(path .. ": its content does not match the checksum", wb.load, path)
      end
    end
  end
end)

T.test("an architecture written without a Dense's optional keys: their defaults, as "
  .. "wb.load builds it", function()
  local path = dir .. "/defaults.safetensors"
  wb.seed(1)
  local src = nn.Sequential{nn.Dense(8, 3)}
  src:save(path)
  local tensors, meta = wb.io.load_safetensors(path)
  meta["workbench.architecture"] = cjson.encode{{kind = "Dense", n_in = 8, n_out = 3}}
  meta["workbench.checksum"] = nil -- written by hand
  wb.io.save_safetensors(path, tensors, meta)
  T.eq(tostring(wb.load(path)[1]), tostring(src[1]))
  nn.Sequential{nn.Dense(8, 3, {l2 = 0.1})}:load_weights(path)
  local m = nn.Sequential{nn.Dense(8, 3, {activation = "relu"})}
  T.check_error(path .. ": saved from another architecture (layer 1 (Dense) has activation = "
    .. "linear there, relu here", m.load_weights, m, path)
end)

-- }====================
-- {==================== 3. the runner's weight files: provenance ====================

T.test("save and save_weights take metadata: strings, none of the library's keys", function()
  local m, path = variant(), dir .. "/meta.safetensors"
  m:save(path, {metadata = {["workbench.note"] = "a note", author = "me"}})
  local _, meta = wb.io.load_safetensors(path)
  T.eq(meta["workbench.note"], "a note"); T.eq(meta.author, "me")
  T.eq(meta.format, "workbench"); T.ok(meta["workbench.architecture"], "still its own")
  T.eq(tostring(wb.load(path)[1]), tostring(m[1]), "wb.load reads it as before")
  m:save_weights(path, {metadata = {author = "me"}})
  T.eq(select(2, wb.io.load_safetensors(path)).author, "me")
  local function bad(pat, o) T.check_error(pat, m.save, m, dir .. "/bad.safetensors", o) end
  bad("save: metadata 'seed': expected a string value (safetensors metadata is string -> "
    .. "string), got a number", {metadata = {seed = 1}})
  bad("save: metadata key 1: expected a string key", {metadata = {"a"}})
  bad("save: metadata 'workbench.architecture' is the library's", {metadata =
    {["workbench.architecture"] = "[]"}})
  bad("save: metadata 'format' is the library's", {metadata = {format = "x"}})
  bad("save: unknown option 'metdata' (valid: metadata)", {metdata = {}})
  bad("save: metadata must be a table of strings, got string", {metadata = "x"})
  T.eq(wb.sys.exists(dir .. "/bad.safetensors"), false, "nothing written")
end)

-- The metadata of a safetensors file as Python's json reads its header.
local function python_metadata(path)
  local f = assert(io.popen("/usr/bin/python3 -c " .. T.quote([[
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    print(json.dumps(json.loads(f.read(n))["__metadata__"]))
]]) .. " " .. T.quote(path)))
  local out = f:read("a")
  f:close()
  return cjson.decode(out)
end

T.test("a run's weight files (final, best) carry its task, hash, seed, commit and epoch; "
  .. "Python reads them", function()
  local root = T.tmpdir()
  wb.sys.mkdir_p(root .. "/runs")
  -- seed 4: a hook sets weights at the end: the final weights are of no epoch, and the
  -- best epoch's are written beside them (.best)
  local ex = wb.experiment.new({base = {hidden = 8, epochs = 2, batch_size = 32,
    subset = {train = 300, test = 100}}, seeds = {3, 4}, callbacks = function(cfg, model)
      return {cfg.seed == 4 and wb.callbacks.Lambda{on_train_end = function()
        model[1].weight:fill(0.01) end} or nil}
    end}, {name = "prov", root = root, command = function() end})
  for _, spec in ipairs(ex.specs) do
    local hook = spec.seed == 4
    local rec = T.stderr_of(function() return wb.train.run(ex, spec) end) -- no get_state: said
    local dir_ = wb.record.dir(root)
    local meta = python_metadata(dir_ .. "/" .. rec.weights)
    T.eq(meta["workbench.task"], "prov"); T.eq(meta["workbench.hash"], spec.hash)
    T.eq(meta["workbench.seed"], tostring(spec.seed))
    T.eq(meta["workbench.variant"], spec.variant)
    T.eq(meta["workbench.git_commit"], rec.git_commit)
    T.eq(meta["workbench.git_uncommitted"], rec.git_uncommitted
      and tostring(math.tointeger(rec.git_uncommitted)))
    T.eq(meta["workbench.weights"], "final")
    T.eq(meta.format, "workbench"); T.ok(meta["workbench.architecture"], "architecture")
    local h = rec.history
    if hook then
      T.eq(meta["workbench.epoch"], nil, "weights of no epoch")
      T.ok(rec.best_weights, "a .best file")
      local bm = python_metadata(dir_ .. "/" .. rec.best_weights)
      T.eq(bm["workbench.weights"], "best")
      T.eq(bm["workbench.epoch"], tostring(math.tointeger(h.best_epoch)))
      T.eq(bm["workbench.hash"], spec.hash); T.eq(bm["workbench.seed"], "4")
      T.eq(bm["workbench.git_commit"], rec.git_commit)
    else
      T.eq(meta["workbench.epoch"], tostring(math.tointeger(h.weights_epoch)), "its epoch")
      T.eq(meta["workbench.epoch"], "2")
    end
    -- still a file wb.load and the record's checks take
    T.eq(wb.record.weights_changed(dir_, rec), nil)
    wb.load(dir_ .. "/" .. rec.weights)
  end
end)

-- }====================

T.done()
