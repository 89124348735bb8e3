-- test_task02_unreadable.lua - task 2 with PNG files that cannot be read
-- among good ones (tryO F5): one bad file aborted the whole task (exit 65,
-- nothing drawn). Now the readable files are drawn, each unreadable one is
-- named with why (libpng's reason, the shape expected) on stderr and in the
-- README above the figures, and the task exits 1 once its files are whole;
-- none readable: refused, nothing trained or written. Each panel's CSV
-- names the PNG file it is (probabilities-1..n.csv had identical headers),
-- and an earlier report's panels past the last are removed.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local q = T.quote

local function write(path, s)
  local f = assert(io.open(path, "wb")); f:write(s); f:close()
end

local function task2(root, files)
  local qs = {}
  for i, p in ipairs(files) do qs[i] = q(p) end
  return T.sh(string.format("WB_ECHO=0 %s scripts/task02_custom_digit.lua --quick --seeds 1 "
    .. "--root %s %s", q(T.wb), q(root), table.concat(qs, " ")))
end

-- two good digits (copies: their paths are the test's), and five bad files
local good1, good2, good3 = dir .. "/3_good.png", dir .. "/7_good.png", dir .. "/0_good.png"
wb.image.save(wb.image.load("data/custom/3_grey16.png"), good1)
wb.image.save(wb.image.load("data/custom/7_grey1.png"), good2)
wb.image.save(wb.image.load("data/custom/0_grey8.png"), good3)
local png = T.slurp(good1)
local BAD = {
  {dir .. "/5_truncated.png", "truncated: libpng: Read Error"},
  {dir .. "/6_text.png", "not a PNG file"},
  {dir .. "/8_empty.png", "not a PNG file (empty)"},
  {dir .. "/9_line.png", "a [1, 50] image, 1 px on a side, cannot hold a digit (expected at "
    .. "least 2 px on each side)"},
  {dir .. "/4_missing.png", "no such file"},
}
write(BAD[1][1], png:sub(1, 300))
write(BAD[2][1], "hello, not a picture\n")
write(BAD[3][1], "")
wb.image.save(wb.zeros(1, 50), BAD[4][1])

T.test("unreadable files are left out and named; the others drawn; exit 1 at the end",
    function()
  local root = dir .. "/mixed"
  local st, _, err = task2(root, {good1, BAD[1][1], BAD[2][1], good2, BAD[3][1], BAD[4][1],
    BAD[5][1]})
  T.eq(st, 1, err)
  local tdir = root .. "/quick/task02_custom_digit"
  for _, b in ipairs(BAD) do
    T.ok(err:find("task02_custom_digit: " .. b[1] .. ": " .. b[2]
      .. "; left out of the table and figures\n", 1, true), b[1] .. "\n" .. err)
  end
  -- the last line says why the status is 1 (report.lua quotes it in REPORT.md)
  local last = err:match("([^\n]*)\n$")
  T.eq(last, "task02_custom_digit: finished with 5 problems: " .. BAD[1][1] .. ": "
    .. BAD[1][2] .. "; left out of the table and figures (the others above)", err)
  T.ok(not err:find("stack traceback", 1, true), err)
  -- the figures whole: PNGs drawn (no "not drawn" mark left), no temporary file
  for _, f in ipairs{"preprocessing", "probabilities"} do
    T.ok(wb.sys.exists(tdir .. "/" .. f .. ".png"), f)
    local gp = T.slurp(tdir .. "/" .. f .. ".gp") or ""
    T.ok(gp ~= "" and not gp:find("not drawn yet", 1, true), f .. ".gp")
  end
  for _, f in ipairs(wb.sys.listdir(tdir)) do T.ok(not f:find("tmp", 1, true), f) end
  T.eq(#util.read_json(tdir .. "/runs.json").figures, 2)
  -- the README lists each unreadable file above the figures, with the table of the others
  local md = T.slurp(tdir .. "/README.md") or ""
  local list = md:find("**5 files could not be read, left out of the table and the figures**",
    1, true)
  T.ok(list and list < md:find("![preprocessing]", 1, true), md)
  for _, b in ipairs(BAD) do
    T.ok(md:find("- " .. util.md_cell(b[1]) .. ": " .. util.md_cell(b[2]) .. "\n", 1, true),
      b[1] .. "\n" .. md)
  end
  -- the table's rows: the readable files, each with its path and panel's CSV
  T.ok(md:find("\n| 3\\_good.png | 3 | %d | [%d.]+ | %a+ | " .. util.md_cell(good1):gsub("%p",
    "%%%0") .. " %(probabilities%-1%.csv%) |\n| 7\\_good.png | 7 | "), md)
  T.ok(md:find(util.md_cell(good2) .. " (probabilities-2.csv) |\n\n", 1, true), md)
  T.ok(md:find("2 images;", 1, true), md)
  -- each panel's CSV names its file first, the figure's provenance under it
  for k, path in ipairs{good1, good2} do
    local csv = T.slurp(string.format("%s/probabilities-%d.csv", tdir, k)) or ""
    T.ok(csv:find(string.format("^# probabilities%%-%d%%.csv: panel %d of probabilities%%.png, "
      .. "the PNG file %s\n# probabilities%%.png: drawn by task task02_custom_digit's report",
      k, k, path:gsub("%p", "%%%0"))), csv:sub(1, 300))
    local _, n = csv:gsub("drawn by task", "")
    T.eq(n, 1, "the provenance once: " .. csv:sub(1, 600))
  end
  T.ok(not wb.sys.exists(tdir .. "/probabilities-3.csv"), "a third panel")
end)

T.test("a report with a file fewer removes the panel CSV past its last", function()
  local root = dir .. "/fewer"
  local st, _, err = task2(root, {good1, good2, good3})
  T.eq(st, 0, err)
  local tdir = root .. "/quick/task02_custom_digit"
  T.ok(wb.sys.exists(tdir .. "/probabilities-3.csv"), err)
  st, _, err = task2(root, {good1, BAD[2][1], good3})
  T.eq(st, 1, err)
  T.ok(not wb.sys.exists(tdir .. "/probabilities-3.csv"), "the old third panel stayed")
  local csv = T.slurp(tdir .. "/probabilities-2.csv") or ""
  T.ok(csv:find("^# probabilities%-2%.csv: panel 2 of probabilities%.png, the PNG file "
    .. good3:gsub("%p", "%%%0") .. "\n"), csv:sub(1, 200))
end)

T.test("no file readable: each named, nothing trained or written", function()
  local root = dir .. "/none"
  local st, _, err = task2(root, {BAD[2][1], BAD[5][1]})
  T.eq(st, 65, err) -- the first file's status (not a PNG file: EFORMAT)
  T.ok(err:find("task02_custom_digit: none of the 2 PNG files could be read as a digit; "
    .. "nothing trained or written:\n  " .. BAD[2][1] .. ": " .. BAD[2][2] .. "\n  "
    .. BAD[5][1] .. ": " .. BAD[5][2], 1, true), err)
  T.ok(not wb.sys.exists(root), "wrote into the root")
  st, _, err = task2(root, {BAD[4][1]})
  T.ok(st ~= 0, err)
  T.ok(err:find("task02_custom_digit: " .. BAD[4][1] .. ": " .. BAD[4][2], 1, true), err)
  T.ok(not wb.sys.exists(root), "wrote into the root")
end)

T.test("wb.Task:problem checks its message", function()
  local t = wb.task{name = "p", experiment = {base = {epochs = 1, hidden = 8}}}
  T.check_error("bad argument #1 to 'problem' %(string expected, got number%)", t.problem, t, 5)
end)

T.done()
