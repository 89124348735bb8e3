-- Numbers stay in the C locale (audit X2): a script's os.setlocale with a
-- decimal-comma locale made every number the library wrote use a comma
-- ("0,882" in CSVs, records no longer JSON, gnuplot reading y = 0). The
-- locale is built with localedef (Debian's locales package, make deps)
-- into a folder of the test's own (LOCPATH), as none but C is installed.
local T = dofile("tests/lua/harness.lua")

local dir = T.tmpdir()
local built = os.execute("localedef -i de_DE -f UTF-8 " .. dir .. "/de_DE.UTF-8 2>/dev/null")
  or os.execute("test -d " .. dir .. "/de_DE.UTF-8")

local function run(code)
  local f = dir .. "/s.lua"
  local h = assert(io.open(f, "w")); h:write(code); h:close()
  local p = io.popen("LOCPATH=" .. dir .. " ./workbench " .. f .. " 2>&1")
  local out = p:read("a"); p:close()
  return out
end

T.test("os.setlocale: a decimal-comma locale is refused for numbers, allowed for time", function()
  if not built then error("localedef could not build de_DE.UTF-8 (Debian's locales package: make deps)") end
  local out = run([[
    print(pcall(os.setlocale, "de_DE.UTF-8"))
    print(pcall(os.setlocale, "de_DE.UTF-8", "numeric"))
    print("after", string.format("%.3f", 0.882), 0.5)
    print("time", os.setlocale("de_DE.UTF-8", "time"), string.format("%.1f", 0.5))
    local p = wb.plot.lines{title = "t", series = {{label = "loss", x = {1, 2}, y = {0.5, 1.5}}}}
    p:save("]] .. dir .. [[/f.png")
  ]])
  T.ok(out:find("false\tos.setlocale: the locale 'de_DE.UTF-8' writes numbers with another "
    .. "decimal point than '.'", 1, true), out)
  T.ok(select(2, out:gsub("writes numbers with another decimal point", "")) == 2, out)
  T.ok(out:find("after\t0.882\t0.5", 1, true), out)
  T.ok(out:find("time\tde_DE.UTF-8\t0.5", 1, true), out)
  local csv = T.slurp(dir .. "/f.csv")
  T.ok(csv:find("\n1,0.5\n2,1.5", 1, true), csv)
end)

T.test("the environment's locale does not reach the numbers (workbench never adopts it)", function()
  if not built then error("localedef could not build de_DE.UTF-8 (Debian's locales package: make deps)") end
  local p = io.popen("LC_ALL=de_DE.UTF-8 LOCPATH=" .. dir .. " ./workbench -e 'print(0.5, "
    .. "string.format(\"%.2f\", 1.25))' 2>&1")
  local out = p:read("a"); p:close()
  T.eq(out, "0.5\t1.25\n")
end)

T.done()
