-- Data in and out: a new user's papercuts (notes/tryF.md sections 4 to 6;
-- section 7, little-endian IDX sizes, is tests/c/test_idx_endian.c).
local T = dofile("tests/lua/harness.lua")

local function page(h, w, paper, ink)
  local t = wb.full({h, w}, paper)
  for y = 21, h - 20 do
    for x = math.floor(w / 2) - 4, math.floor(w / 2) + 4 do t:set(y, x, ink) end
  end
  return t
end

-- {==== section 4: steps_tiles shows the input as the file looks ====

T.test("steps_tiles: a black-on-white input is drawn black on white (no negative)", function()
  -- wb.plot.images draws 0 white and 1 black (the grey palette: ink on paper)
  local img = page(100, 60, 1, 0)
  local tiles, labels = wb.image.steps_tiles(img, 32)
  T.eq(labels[1], "input")
  local input = tiles:row(1)
  T.eq(input:get(1, 1), 0, "margin: white, as the page")
  T.eq(input:get(16, 16), 1, "the pen's stroke: black")
  T.ok(input:mean() < 0.5, "mostly white paper: " .. input:mean())
  -- the steps are what the model reads, ink white on black: the inverted
  -- step does not look like the input it came from (tryV 6)
  T.eq(labels[2], "inverted")
  for i = 2, 5 do
    T.eq(tiles:row(i):get(1, 1), 1, labels[i] .. ": margin black, the model's background")
    T.eq(tiles:row(i):min(), 0, labels[i] .. ": ink white")
  end
  T.ok((tiles:row(1) - tiles:row(2)):abs():max() == 1, "inverted differs from the input")
  -- a light-on-dark file stays light on dark, its margins dark too; its
  -- second step is not an inversion, and its label says so
  tiles, labels = wb.image.steps_tiles(page(100, 60, 0, 1), 32)
  T.eq(tiles:row(1):get(1, 1), 1, "margin: black, as the board")
  T.eq(tiles:row(1):get(16, 16), 0, "chalk: white")
  T.eq(labels[2], "kept: dark page")
  T.eq(tiles:row(2):get(16, 16), 0, "kept: chalk white")
  -- cream paper: the margins are the paper's level, no frame around it
  tiles = wb.image.steps_tiles(page(100, 60, 0.9, 0.1), 32)
  T.near(tiles:row(1):get(1, 1), tiles:row(1):get(3, 16), 1e-5, "margin as the paper")
  T.near(tiles:row(1):get(3, 16), 0.1, 1e-5, "the paper: light")
end)

T.test("steps_tiles of data/custom/0_grey8.png (black pen on white): a white page", function()
  local tiles = wb.image.steps_tiles(wb.image.load("data/custom/0_grey8.png"))
  local input = tiles:row(1)
  T.ok(input:get(1, 1) < 0.1 and input:mean() < 0.5, "input tile corner "
    .. input:get(1, 1) .. ", mean " .. input:mean())
end)

-- }====
-- {==== section 6: .PNG, upper case, is a PNG too ====

local dir = T.tmpdir()

T.test("png_files lists .png in any case, by name, and nothing else", function()
  local src = wb.image.load("data/custom/7_grey1.png")
  local sub = dir .. "/custom"
  assert(os.execute("mkdir -p " .. T.quote(sub .. "/x.png")))
  for _, n in ipairs{"b.png", "a_upper.PNG", "c.Png"} do wb.image.save(src, sub .. "/" .. n) end
  for _, n in ipairs{"d.txt", "e.png.bak", "fpng"} do
    local f = assert(io.open(sub .. "/" .. n, "wb")); f:write("x"); f:close()
  end
  local got = wb.image.png_files(sub)
  T.eq(#got, 4, table.concat(got, " "))
  T.eq(got[1], sub .. "/a_upper.PNG"); T.eq(got[2], sub .. "/b.png")
  T.eq(got[3], sub .. "/c.Png"); T.eq(got[4], sub .. "/x.png") -- (a folder: task 2 says so)
  T.check_error("bad argument #1 to 'png_files' %(string expected, got nil%)",
    wb.image.png_files)
  T.check_error("^tests/lua/test_data_papercuts_f%.lua:%d+: png_files: cannot open "
    .. (sub .. "/none"):gsub("%p", "%%%0") .. ": No such file or directory$",
    function() wb.image.png_files(sub .. "/none") end)
end)

T.test("task 2 captions a .PNG argument with its name, not 'input'", function()
  local png = dir .. "/7_upper.PNG"
  wb.image.save(wb.image.load("data/custom/7_grey1.png"), png)
  local root = dir .. "/root"
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s scripts/task02_custom_digit.lua --quick "
    .. "--seeds 1 --root %s %s data/custom/3_grey16.png", T.quote(T.wb), T.quote(root),
    T.quote(png)))
  T.eq(st, 0, err)
  local gp = T.slurp(root .. "/quick/task02_custom_digit/preprocessing.gp") or ""
  T.ok(gp:find("set label 1 '7_upper' ", 1, true), gp:match("set label 1 [^\n]*"))
  T.ok(gp:find("set label 2 '3_grey16' ", 1, true), gp:match("set label 2 [^\n]*"))
  local readme = T.slurp(root .. "/quick/task02_custom_digit/README.md") or ""
  T.ok(readme:find("| 7\\_upper.PNG | 7 |", 1, true), readme)
end)

-- }====
-- {==== section 5: MNIST as .gz files; $WB_DATA naming mnist/ itself ====

-- A tiny MNIST folder <dir>/<name>/mnist: 6 training and 4 test rows, labels
-- 0, 1, 2, ...; the files named in `gz` gzipped (name.gz, no plain file).
local function mnist_folder(name, gz)
  local d = dir .. "/" .. name .. "/mnist"
  assert(os.execute("mkdir -p " .. T.quote(d)))
  for _, p in ipairs{{"train", 6}, {"t10k", 4}} do
    local labels = {}
    for i = 1, p[2] do labels[i] = string.char((i - 1) % 10) end
    for kind, body in pairs{["images-idx3"] = string.pack(">I4I4I4I4", 0x803, p[2], 28, 28)
        .. string.rep("\0", p[2] * 784), ["labels-idx1"] = string.pack(">I4I4", 0x801, p[2])
        .. table.concat(labels)} do
      local path = d .. "/" .. p[1] .. "-" .. kind .. "-ubyte"
      local f = assert(io.open(path, "wb")); f:write(body); f:close()
      if gz == "all" or gz == p[1] .. "-" .. kind then
        assert(os.execute("gzip -n " .. T.quote(path)))
      end
    end
  end
  return dir .. "/" .. name
end

local function mnist_in(data, code)
  return T.sh(string.format("WB_DATA=%s %s -e %s", T.quote(data), T.quote(T.wb), T.quote(code)))
end

T.test("wb.data.mnist reads the four files gzipped (name.gz), as LeCun's site ships them",
  function()
  local data = mnist_folder("gz", "all")
  T.ok(not wb.sys.exists(data .. "/mnist/t10k-labels-idx1-ubyte"), "plain file left")
  local st, out, err = mnist_in(data, "local d = wb.data.mnist(); print(#d.train, #d.test, "
    .. "d.train.labels:get(2), d.test.images:shape()[2])")
  T.eq(st, 0, err)
  T.eq(out, "6\t4\t1\t28\n")
  -- checked against nothing: said so, not "other data"
  st, out, err = mnist_in(data, "print(require('wb.data_cache').unpublished_note('mnist'))")
  T.eq(st, 0, err)
  T.ok(out:find("mnist in " .. data .. "/mnist is gzip-compressed: not checked against the "
    .. "published MNIST", 1, true) and not out:find("other data", 1, true), out)
end)

T.test("MNIST half gzipped: the .gz is named, with what to do", function()
  local data = mnist_folder("mixed", "train-labels-idx1")
  local st, _, err = mnist_in(data, "wb.data.mnist()")
  T.eq(st, 66, err)
  T.ok(err:find("MNIST in " .. data .. "/mnist is incomplete: no train-labels-idx1-ubyte; "
    .. "found train-labels-idx1-ubyte.gz: the four files are read all plain or all gzipped "
    .. "(gunzip it)", 1, true), err)
end)

T.test("$WB_DATA naming the mnist folder itself: the parent is named", function()
  for _, gz in ipairs{"none", "all"} do
    local data = mnist_folder("flat_" .. gz, gz) .. "/mnist"
    local st, _, err = mnist_in(data, "wb.data.mnist()")
    T.eq(st, 66, err)
    T.ok(err:find("MNIST not found in " .. data .. "/mnist: $WB_DATA is " .. data .. ", which "
      .. "holds MNIST's files itself: set it to the folder that holds mnist/ ("
      .. dir .. "/flat_" .. gz .. ")", 1, true), err)
  end
end)

T.test("a task's data check names the .gz too, before any run", function()
  local script = dir .. "/t.lua"
  local f = assert(io.open(script, "w"))
  f:write([[return wb.task{name = "f5", title = "t", experiment = {base = {epochs = 1,
    hidden = 4}, seeds = {1}}, report = function() end}
]]); f:close()
  local function run(data)
    return T.sh(string.format("WB_DATA=%s %s %s --root %s </dev/null", T.quote(data),
      T.quote(T.wb), T.quote(script), T.quote(dir .. "/r")))
  end
  local st, _, err = run(dir .. "/mixed")
  T.eq(st, 66, err)
  T.ok(err:find("no train-labels-idx1-ubyte (of train-images-idx3-ubyte, train-labels-idx1-"
    .. "ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte); found train-labels-idx1-ubyte"
    .. ".gz: the four files are read all plain or all gzipped", 1, true), err)
  st, _, err = run(dir .. "/flat_all/mnist")
  T.eq(st, 66, err)
  T.ok(err:find("(the files are in it directly: move them to " .. dir .. "/flat_all/mnist/mnist)",
    1, true), err)
end)

-- }====

T.done()
