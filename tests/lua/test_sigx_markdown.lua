-- test_sigx_markdown.lua - a file name in task 2's README table is one cell
-- (audit X16m): `1_a|b.png` wrote the row `| 1_a|b.png | 1 | ...`, one
-- column too many, each value under the wrong header; `*`, `_` and a
-- backquote in a name turned into emphasis or code. wb.util.md_cell
-- escapes them; the table is checked as GitHub's parser splits rows
-- (tests/lua/mdtables.lua).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local md = dofile("tests/lua/mdtables.lua")
local dir = T.tmpdir()

T.test("wb.util.md_cell: | * _ ` ~ [ ] < > \\ escaped, a newline a space", function()
  T.eq(util.md_cell("1_a|b*c`d\\e[f]<g>~h\ni"), "1\\_a\\|b\\*c\\`d\\\\e\\[f\\]\\<g\\>\\~h i")
  T.eq(util.md_cell("plain 3.png"), "plain 3.png")
  T.eq(util.md_cell(12), "12")
  local problems = md.check("| a | b |\n|---|---|\n| " .. util.md_cell("x|y|z") .. " | 2 |\n",
    "t")
  T.eq(#problems, 0, table.concat(problems, "\n"))
end)

T.test("task 2: a file named with | * _ ` is one cell of its row, escaped", function()
  local src = "data/custom/" .. wb.sys.listdir("data/custom")[1]
  local names = {"1_a|b.png", "7*x*y.png", "2`c`.png"}
  local paths = {}
  for i, n in ipairs(names) do
    paths[i] = dir .. "/" .. n
    wb.image.save(wb.image.load(src), paths[i])
  end
  local root = dir .. "/root"
  local qs = {}
  for i, p in ipairs(paths) do qs[i] = T.quote(p) end
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s scripts/task02_custom_digit.lua --quick "
    .. "--seeds 1 --root %s %s", T.quote(T.wb), T.quote(root), table.concat(qs, " ")))
  T.eq(st, 0, err)
  local readme = util.read_file(root .. "/quick/task02_custom_digit/README.md") or ""
  local problems, tables = md.check(readme, "README.md")
  T.eq(#problems, 0, table.concat(problems, "\n"))
  T.ok(tables >= 1, readme)
  T.ok(readme:find("| 1\\_a\\|b.png | 1 | ", 1, true), readme)
  T.ok(readme:find("| 7\\*x\\*y.png | 7 | ", 1, true), readme)
  T.ok(readme:find("| 2\\`c\\`.png | 2 | ", 1, true), readme)
end)

T.done()
