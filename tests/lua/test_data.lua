-- IDX parsing on good and bad files (fixtures generated here), the MNIST and
-- Fashion-MNIST loaders and minibatch gathering.
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

local function be32(n)
  return string.char((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end
local function write(name, bytes)
  local p = dir .. "/" .. name
  local f = assert(io.open(p, "wb")); f:write(bytes); f:close()
  return p
end
local function idx_u8(dims, payload)
  local h = "\0\0\8" .. string.char(#dims)
  for _, d in ipairs(dims) do h = h .. be32(d) end
  return h .. payload
end

T.test("valid ubyte IDX loads as uint8 with the declared shape", function()
  local p = write("ok.idx", idx_u8({2, 3}, "\1\2\3\4\5\255"))
  local t = wb.data.idx(p)
  T.eq(t:dtype(), "uint8"); T.eq(#t, 2); T.eq(t:shape()[2], 3)
  T.eq(t:get(2, 3), 255)
end)

T.test("int32 and float32 IDX load as float32", function()
  local p = write("i32.idx", "\0\0\12\1" .. be32(2) .. be32(7) .. be32(0xFFFFFFFF))
  local t = wb.data.idx(p)
  T.eq(t:get(1), 7.0); T.eq(t:get(2), -1.0)
  local f = write("f32.idx", "\0\0\13\1" .. be32(1) .. string.pack(">f", 1.5))
  T.eq(wb.data.idx(f):get(1), 1.5)
end)

T.test("gzip-compressed IDX reads the same as raw", function()
  local p = write("z.idx", idx_u8({4}, "\9\8\7\6"))
  assert(os.execute("gzip -kf " .. p))
  local t = wb.data.idx(p .. ".gz")
  T.eq(t:get(1), 9); T.eq(t:get(4), 6)
end)

T.test("truncated file names the path and byte counts", function()
  local p = write("trunc.idx", idx_u8({10, 28, 28}, string.rep("\0", 100)))
  local e = T.check_error("trunc.idx: truncated", wb.data.idx, p)
  T.ok(e:find("7856"), e) -- expected 16 + 7840 bytes
  T.ok(e:find("116"), e)  -- the file has 116 bytes
end)

T.test("wrong magic number", function()
  local p = write("magic.idx", "\0\0\99\1" .. be32(1) .. "\0")
  T.check_error("magic.idx: bad magic 0x00006301", wb.data.idx, p)
  local q = write("magic2.idx", "\1\2\8\1" .. be32(1) .. "\0")
  T.check_error("bad magic", wb.data.idx, q)
end)

T.test("header claiming 2^31 images is rejected before allocating", function()
  local p = write("huge.idx", idx_u8({0x80000000, 28, 28}, string.rep("\0", 1024)))
  local e = T.check_error("huge.idx: truncated", wb.data.idx, p)
  T.ok(e:find("2147483648"), e)
end)

T.test("dimensions whose product overflows 64 bits", function()
  local p = write("ovf.idx", idx_u8({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, ""))
  T.check_error("ovf.idx: truncated", wb.data.idx, p)
end)

T.test("empty file, trailing data, directory, /dev/zero, missing file", function()
  T.check_error("empty.idx: truncated header", wb.data.idx, write("empty.idx", ""))
  T.check_error("trailing data", wb.data.idx, write("tail.idx", idx_u8({2}, "\1\2\3")))
  T.check_error("not a regular file (a directory)", wb.data.idx, dir)
  T.check_error("/dev/zero: not a regular file", wb.data.idx, "/dev/zero")
  T.check_error("nope.idx: cannot open: No such file", wb.data.idx, dir .. "/nope.idx")
end)

-- zlib's gzread drops anything after a gzip member that is not another member: a plain
-- file's trailing bytes were refused, a gzip file's accepted without a word (audit X16d).
T.test("a gzip IDX file: bytes after its gzip data refused; several members read", function()
  local a, b = write("ga.idx", idx_u8({4}, "\1\2\3\4")), write("gb", "\5\6")
  assert(os.execute(string.format("gzip -kf %s %s", a, b)))
  local ga, gb = T.slurp(a .. ".gz"), T.slurp(b .. ".gz")
  T.eq(wb.data.idx(a .. ".gz"):get(4), 4, "one member")
  local p = write("gc.idx.gz", ga .. "garbage\n")
  T.check_error("gc.idx.gz: 8 bytes of trailing data after the gzip data (header declares [4])",
    wb.data.idx, p)
  T.check_error("1 bytes of trailing data", wb.data.idx, write("gd.idx.gz", ga .. "\31"))
  -- a second member is more data (as zlib reads it): here two bytes too many
  T.check_error("trailing data after the 12 bytes declared", wb.data.idx,
    write("ge.idx.gz", ga .. gb))
  local head = idx_u8({6}, "\1\2\3\4")
  local two = write("gf.idx", head)
  assert(os.execute(string.format("gzip -kf %s", two)))
  local t = wb.data.idx(write("gg.idx.gz", T.slurp(two .. ".gz") .. gb))
  T.eq(t:get(6), 6, "two members make one file")
  T.check_error("1 bytes of trailing data", wb.data.idx,
    write("gh.idx.gz", T.slurp(two .. ".gz") .. gb .. "x"))
end)

T.test("gzip bomb header: declared size beyond what the compressed file can hold", function()
  local p = write("bomb.idx", idx_u8({60000, 28, 28}, ""))
  assert(os.execute("gzip -kf " .. p))
  T.check_error("more than", wb.data.idx, p .. ".gz")
end)

T.test("a missing dataset names the folder and how to get it; exit status 66", function()
  local st, _, err = T.sh("WB_DATA=" .. dir .. "/none " .. T.wb .. " -e 'wb.data.mnist()'")
  T.eq(st, 66, err)
  T.ok(err:find("MNIST not found in " .. dir .. "/none/mnist: run 'make data'", 1, true), err)
  T.check_error("kind: unknown 'EBOGUS', expected one of EINVAL",
    function() return wb.sys.fail("EBOGUS", "x") end)
end)

T.test("images and labels that disagree in count", function()
  local imgs = wb.data.idx(write("i.idx", idx_u8({3, 2, 2}, string.rep("\0", 12))))
  local labs = wb.data.idx(write("l.idx", idx_u8({2}, "\1\2")))
  T.check_error("3 images but labels of shape [2]", wb.data.Dataset, imgs, labs, "x")
end)

local have_mnist = io.open("data/mnist/train-labels-idx1-ubyte", "rb")
if have_mnist then
  have_mnist:close()
  T.test("MNIST: sizes, first labels, class counts", function()
    local d = wb.data.mnist()
    T.eq(#d.train, 60000); T.eq(#d.test, 10000)
    -- printed as what it holds (was "wb.data.mnist(): 0x5589...")
    T.eq(tostring(d), "wb.data.mnist(): {train = " .. tostring(d.train) .. ", test = "
      .. tostring(d.test) .. "}")
    local first = {}
    for i = 1, 10 do first[i] = d.train.labels:get(i) end
    T.eq(table.concat(first, " "), "5 0 4 1 9 2 1 3 1 4")
    local tfirst = {}
    for i = 1, 10 do tfirst[i] = d.test.labels:get(i) end
    T.eq(table.concat(tfirst, " "), "7 2 1 0 4 1 4 9 5 9")
    local counts = {}
    for i = 1, 60000 do
      local l = d.train.labels:get(i); counts[l] = (counts[l] or 0) + 1
    end
    T.eq(counts[0], 5923); T.eq(counts[1], 6742); T.eq(counts[9], 5949)
    T.eq(d.train.images:dtype(), "uint8")
  end)

  T.test("batch gathers rows in permutation order, scaled to [0,1], reusing buffers", function()
    local d = wb.data.mnist().train
    local perm = wb.tensor{3, 1, 2, 60000}
    local x, y = d:batch(perm, 1, 4)
    T.eq(#x, 4); T.eq(x:shape()[2], 784)
    T.eq(y:get(1), 4); T.eq(y:get(2), 5); T.eq(y:get(3), 0)
    T.near(x:max(), 1.0, 1e-6); T.ok(x:min() >= 0)
    local r, c = 1, 7 * 28 + 14 -- a pixel of image 3
    T.near(x:get(r, c), d.images:get(3, 8, 15) / 255, 1e-6)
    local x2 = d:batch(perm, 2, 3)
    T.eq(#x2, 3)
    local x3 = d:batch(perm, 1, 4)
    T.ok(rawequal(x3, x), "same view object for the same batch size")
    T.check_error("index 1 is 0", function() return d:batch(wb.tensor{0}, 1, 1) end)
    T.check_error("rows 3..6", function() return d:batch(perm, 3, 4) end)
  end)

  T.test("subset is a view of the rows", function()
    local d = wb.data.mnist().train
    local s = d:subset(3, 10)
    T.eq(#s, 8); T.eq(s.labels:get(1), 4)
    T.check_error("out of range", function() return d:subset(0, 5) end)
  end)

  T.test("CLI: the acceptance one-liner", function()
    local st, out = T.sh(T.wb .. " -e 'local d = wb.data.mnist(); print(#d.train, #d.test)'")
    T.eq(st, 0); T.eq(out, "60000\t10000\n")
  end)

  T.test("CLI: a truncated training file fails with its name and exit status 65", function()
    local p = dir .. "/train-images-idx3-ubyte"
    assert(os.execute("head -c 1000000 data/mnist/train-images-idx3-ubyte > " .. p))
    local st, _, err = T.sh(T.wb .. " -e 'wb.data.idx(\"" .. p .. "\")'")
    T.eq(st, 65, "EX_DATAERR: malformed input (README, Exit status)")
    T.ok(err:find(p .. ": truncated", 1, true), err)
    T.ok(err:find("47040016", 1, true), err)
  end)
else
  T.skip("MNIST checks", "data/mnist missing: run make data")
end

if io.open(wb.data.fashion_dir .. "/t10k-labels-idx1-ubyte.gz", "rb") then
  T.test("Fashion-MNIST from Debian's package", function()
    local d = wb.data.fashion_mnist()
    T.eq(#d.train, 60000); T.eq(#d.test, 10000)
    T.eq(d.train.images:shape()[2], 28)
  end)
else
  T.skip("Fashion-MNIST", "dataset-fashion-mnist not installed")
end

-- audit X11: WB_DATA set but empty looked for /mnist ("MNIST not found in
-- /mnist"), naming neither the variable nor its emptiness
T.test("an empty $WB_DATA is one line naming it", function()
  local st, _, err = T.sh("WB_DATA= " .. T.wb .. " -e 'wb.data.mnist()'")
  T.eq(st, 1, err)
  T.eq(err, "workbench: $WB_DATA is set but empty: unset it, or set it to the folder that "
    .. "holds mnist/\n")
end)

T.done()
