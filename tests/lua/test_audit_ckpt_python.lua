-- test_audit_ckpt_python.lua: checkpoints against Python, both ways. Python
-- reads what model:save and save_state write by hand (json + numpy: the
-- 8-byte little-endian header length, the JSON header, the raw data; Debian
-- has no safetensors package) and finds get_weights()'s names, dtypes,
-- shapes and values and the architecture README describes; files Python
-- writes load, or are refused naming the tensor (float64, bfloat16, extra,
-- missing, a gap in the data, PyTorch's transposed Linear layout). Skipped
-- without a python3 with numpy. The defects are test_audit_ckpt.lua.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"
local nn = wb.nn

local py = T.python_with("numpy")
local dir = T.tmpdir()

-- Runs python code with argv[1] = dir; returns its stdout.
local function python(code)
  util.write_file(dir .. "/p.py", code)
  local st, out, err = T.sh(py .. " " .. dir .. "/p.py " .. dir)
  T.eq(st, 0, err)
  return out
end

local READ = [=[
import sys, json, struct, numpy as np
d = sys.argv[1]
def read(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n].decode("utf-8"))
    meta = h.pop("__metadata__", {})
    out, end = {}, 0
    for k, v in sorted(h.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        s, e = v["data_offsets"]
        assert s == end, (p, k, "gap or overlap")
        end = e
        dt = {"F32": "<f4", "U8": "u1"}[v["dtype"]]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=dt).reshape(v["shape"])
    assert len(b) == 8 + n + end, (p, "trailing bytes")
    return out, meta
]=]

T.test("Python reads model:save and save_state: get_weights()'s tensors, the architecture",
    function()
  if not py then T.missing("python3-numpy") end
  wb.seed(3)
  local m = nn.Sequential{nn.Dense(8, 6, {activation = "relu", l2 = 1e-3}), nn.Dropout(0.25),
    nn.Dense(6, 3, {activation = "softmax", bias = false})}
  m:fit(T.tiny_data(), {epochs = 1, batch_size = 16, verbose = false})
  m:save(dir .. "/m.safetensors")
  m:save_state(dir .. "/s.safetensors")
  local want = {}
  for i, w in ipairs(m:get_weights()) do want[i] = {w:shape(), w:reshape{w:numel()}:totable()} end
  util.write_file(dir .. "/want.json", util.encode_json(want))
  local out = python(READ .. [=[
want = json.load(open(d + "/want.json"))
names = ["layers.1.weight", "layers.1.bias", "layers.3.weight"]
for f in ("m", "s"):
    t, meta = read(d + "/" + f + ".safetensors")
    for name, (shape, vals) in zip(names, want):
        a = t[name]
        assert a.dtype == np.float32 and list(a.shape) == shape, (f, name, a.dtype, a.shape)
        x = np.array(vals, dtype=np.float64).astype(np.float32).reshape(shape)
        assert np.array_equal(a, x), (f, name, a.ravel()[:3], x.ravel()[:3])
    arch = json.loads(meta["workbench.architecture"])
    print(f, meta["format"], len(t), " ".join(
        "%s:%s" % (l["kind"], ",".join(str(l.get(k)) for k in ("n_in", "n_out", "activation",
        "use_bias", "rate", "l2"))) for l in arch))
]=])
  T.eq(out, "m workbench 3 Dense:8,6,relu,True,None,0.001 Dropout:None,None,None,None,0.25,"
    .. "None Dense:6,3,softmax,False,None,0\n"
    .. "s workbench-state 9 Dense:8,6,relu,True,None,0.001 Dropout:None,None,None,None,0.25,"
    .. "None Dense:6,3,softmax,False,None,0\n")
end)

-- Python's writer: tensors in the order given, any dtype, optional gap.
local WRITE = [=[
import sys, json, struct, numpy as np
d = sys.argv[1]
def write(p, tensors, gap=0):
    hdr, off, blobs = {}, 0, []
    for k, (dt, a) in tensors.items():
        if dt == "BF16":  # the top 16 bits of a float32
            raw = (a.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        else:
            raw = a.astype({"F32": "<f4", "F64": "<f8", "U8": "u1"}[dt]).tobytes()
        hdr[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw + b"\0" * gap)
        off += len(raw) + gap
    h = json.dumps(hdr).encode()
    open(p, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
r = np.random.default_rng(0)
w1, b1 = r.standard_normal((4, 3)), r.standard_normal(3)
w2, b2 = r.standard_normal((3, 2)), r.standard_normal(2)
ok = {"layers.1.weight": ("F32", w1), "layers.1.bias": ("F32", b1),
      "layers.2.weight": ("F32", w2), "layers.2.bias": ("F32", b2)}
write(d + "/ok.st", ok)
print(" ".join("%.9g" % v for v in w1.astype(np.float32).ravel()))
write(d + "/f64.st", dict(ok, **{"layers.1.weight": ("F64", w1)}))
write(d + "/bf16.st", dict(ok, **{"layers.2.bias": ("BF16", b2)}))
write(d + "/extra.st", dict(ok, **{"layers.3.weight": ("F32", w2)}))
write(d + "/missing.st", {k: v for k, v in ok.items() if k != "layers.2.bias"})
write(d + "/gap.st", ok, gap=4)
write(d + "/torch.st", dict(ok, **{"layers.1.weight": ("F32", w1.T)}))
]=]

T.test("files Python writes: the right names load; others are refused naming the tensor",
    function()
  if not py then T.missing("python3-numpy") end
  local w1 = python(WRITE)
  local function model()
    wb.seed(1)
    return nn.Sequential{nn.Dense(4, 3, {activation = "relu"}),
      nn.Dense(3, 2, {activation = "softmax"})}
  end
  local m = model():load_weights(dir .. "/ok.st")
  local got = {}
  for _, v in ipairs(m[1].weight:reshape{12}:totable()) do
    got[#got + 1] = string.format("%.9g", v)
  end
  T.eq(table.concat(got, " ") .. "\n", w1)
  local cases = {
    f64 = "tensor 'layers.1.weight': dtype F64 is not supported (F32 or U8)",
    bf16 = "tensor 'layers.2.bias': dtype BF16 is not supported (F32 or U8)",
    extra = "unexpected tensor 'layers.3.weight'",
    missing = "missing tensor 'layers.2.bias' (expected [2])",
    gap = "4 unused data bytes before tensor",
    torch = "tensor 'layers.1.weight': expected shape [4, 3], got [3, 4] (the transpose: "
      .. "kernels are [n_in, n_out], Keras's layout; PyTorch's nn.Linear.weight is [n_out, n_in])",
  }
  for _, name in ipairs{"f64", "bf16", "extra", "missing", "gap", "torch"} do
    local r = model()
    local before = r[1].weight:clone()
    local path = dir .. "/" .. name .. ".st"
    local ok, err = pcall(r.load_weights, r, path)
    T.ok(not ok, name .. " loaded")
    T.eq(wb.is_error(err) and err.code, "EFORMAT", name .. ": " .. tostring(err))
    T.ok(tostring(err):find(path .. ": " .. cases[name], 1, true), name .. ": " .. tostring(err))
    T.eq((r[1].weight - before):abs():max(), 0, name .. ": the model is unchanged")
  end
end)

T.done()
