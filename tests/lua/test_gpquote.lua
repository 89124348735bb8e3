-- test_gpquote.lua - wb.plot's gnuplot and shell quoting (U.q, U.sh in
-- bindings/lua/wb/plot/util.lua), by property and against the real tools.
--
-- The property and the model of gnuplot's lexer are in
-- tests/fuzz/gpquote_check.lua (shared with the fuzz target). Here: the
-- model is checked against gnuplot itself, the committed fuzz corpus
-- (tests/fuzz/corpus/gpquote/) and seeded random strings are replayed
-- through the property, and U.q / U.sh output is read back by gnuplot and
-- sh. Without gnuplot the gnuplot comparisons are skipped.
local T = dofile("tests/lua/harness.lua")
local M = dofile("tests/fuzz/gpquote_check.lua")(".")
local U = M.U

local have_gnuplot = os.execute("command -v gnuplot >/dev/null 2>&1") == true
local dir = T.tmpdir()

-- Values gnuplot gives each expression (false when it is an error), in one
-- gnuplot process reading stdin (where an error does not stop the rest).
local function gnuplot_values(exprs)
  local lines = {"set print '-'"}
  for i, e in ipairs(exprs) do
    lines[#lines + 1] = "undefine s"
    lines[#lines + 1] = "s = (" .. e .. ")"
    lines[#lines + 1] = string.format("print exists('s') ? sprintf('%d:%%d:', strlen(s)) . s "
      .. ": '%d:ERR'", i, i)
  end
  local gp = dir .. "/q.gp"
  local fh = assert(io.open(gp, "wb"))
  fh:write(table.concat(lines, "\n"), "\n")
  fh:close()
  local p = assert(io.popen("gnuplot < " .. gp .. " 2>/dev/null", "r"))
  local out = p:read("a")
  p:close()
  local vals, pos = {}, 1
  for i = 1, #exprs do
    local a, b, rest = out:find("^(%d+):", pos)
    if not a or tonumber(rest) ~= i then error("gnuplot output out of step at " .. i) end
    pos = b + 1
    if out:sub(pos, pos + 3) == "ERR\n" then
      vals[i] = false
      pos = pos + 4
    else
      local c, d, len = out:find("^(%d+):", pos)
      -- strlen counts UTF-8 characters: take bytes up to the newline that
      -- is followed by the next record (values hold no newline)
      local nl = out:find("\n", d + 1, true)
      vals[i] = out:sub(d + 1, nl - 1)
      pos = nl + 1
      assert(c and len)
    end
  end
  return vals
end

-- Seeded random strings over an alphabet of troublemakers.
local alphabet = {"'", "'", "'", '"', "\\", "`", "@", "$", ";", "#", " ", "\n", "\t",
  "\0", "\127", "a", "b", "z", "\195\169", "\255", "{", "^", "_", "&"}
local function random_string(rnd, maxlen)
  local t = {}
  for k = 1, rnd(0, maxlen) do t[k] = alphabet[rnd(1, #alphabet)] end
  return table.concat(t)
end

-- A quoter that avoids every quirk of the model: runs of quotes go in a
-- double-quoted string of their own. Used to test the model, not U.q.
local function ref_q(s)
  s = s:gsub("%c", " ")
  if s == "" then return "''" end
  local parts = {}
  for run, other in s:gmatch("('*)([^']*)") do
    if run ~= "" then parts[#parts + 1] = '"' .. run .. '"' end
    if other ~= "" then parts[#parts + 1] = "'" .. other .. "'" end
  end
  return table.concat(parts, " . ")
end

T.test("the lexer model agrees with gnuplot (values, and which are errors)", function()
  if not have_gnuplot then return T.skip("model vs gnuplot", "gnuplot not installed") end
  local exprs = {"''", "'a'", "'it''s'", "'x'''", "'''a'", "'a''''b'", "'a'''''",
    "'a''b''c'", "\"''\" . 'x'", "'x' . ''''", "'@x `echo hi` $1 \\n'", "'a;b#c'",
    "\"'\"", "'a' . \"''\" . 'b'", "'''", "'", "\"'\" . '@x'", "\"'\" . \"@x\"",
    "'a''b @x'", "\"it's\" . ' @x'", "\"''\" . '@x'"}
  local rnd = math.random
  math.randomseed(61)
  for _ = 1, 150 do
    local s = random_string(rnd, 10)
    exprs[#exprs + 1] = ref_q(s)
    -- and naive doubling, which the model says fails on runs of quotes
    exprs[#exprs + 1] = "'" .. s:gsub("%c", " "):gsub("'", "''") .. "'"
  end
  local got = gnuplot_values(exprs)
  local disagree = {}
  local expanded = 0
  for i, e in ipairs(exprs) do
    local want, why = M.gp_value(e, "line")
    if not want and why:find("expand") then
      -- the model says gnuplot expands a macro: its value must differ
      -- from the literal one (an undefined @name expands to nothing)
      want = M.gp_value(e, "lex")
      if got[i] == want then
        disagree[#disagree + 1] = e
          .. ": model expects a macro expansion, gnuplot read it literally"
      end
      expanded = expanded + 1
    elseif (want or false) ~= got[i] then
      disagree[#disagree + 1] = string.format("%s: model %q, gnuplot %q", e,
        tostring(want), tostring(got[i]))
    end
  end
  T.eq(#disagree, 0, table.concat(disagree, "\n", 1, math.min(5, #disagree)))
  T.ok(expanded >= 3, "only " .. expanded .. " expressions exercised the macro rule")
end)

T.test("the committed fuzz corpus replays clean", function()
  local cdir = "tests/fuzz/corpus/gpquote"
  local ok, names = pcall(wb.sys.listdir, cdir)
  if not ok then names = {} end
  local bad = {}
  for _, n in ipairs(names) do
    local fh = assert(io.open(cdir .. "/" .. n, "rb"))
    local s = fh:read("a")
    fh:close()
    local why = M.check(s)
    if why then bad[#bad + 1] = n .. ": " .. why end
  end
  print("# replayed " .. #names .. " gpquote corpus files")
  T.eq(#bad, 0, table.concat(bad, "\n"))
end)

T.test("U.q and U.sh hold their property on 3000 seeded random strings", function()
  math.randomseed(62)
  local bad, first = 0, nil
  for _ = 1, 3000 do
    local s = random_string(math.random, 12)
    local why = M.check(s)
    if why then
      bad = bad + 1
      first = first or why
    end
  end
  T.eq(bad, 0, first)
end)

T.test("gnuplot reads U.q output back as the string", function()
  if not have_gnuplot then return T.skip("U.q vs gnuplot", "gnuplot not installed") end
  math.randomseed(63)
  local strs, exprs = {"", "it's", "'", "''x", "x'", "a''b", "@x `echo hi` $1 \\n"}, {}
  for _ = 1, 200 do strs[#strs + 1] = random_string(math.random, 10) end
  for i, s in ipairs(strs) do exprs[i] = U.q(s) end
  local got = gnuplot_values(exprs)
  local bad = {}
  for i, s in ipairs(strs) do
    local want = s:gsub("%c", " ")
    if got[i] ~= want then
      bad[#bad + 1] = string.format("U.q(%q) = %s: gnuplot reads %s", s, exprs[i],
        got[i] and string.format("%q", got[i]) or "a syntax error")
    end
  end
  T.eq(#bad, 0, #bad .. " of " .. #strs .. " wrong, e.g.\n" .. table.concat(bad, "\n", 1,
    math.min(3, #bad)))
end)

T.test("sh reads U.sh output back as the string", function()
  math.randomseed(64)
  local out = dir .. "/sh.out"
  for i = 1, 60 do
    local s = random_string(math.random, 10):gsub("%z", "")
    if i == 1 then s = "it's a 'test' $HOME `id` \\ \"" end
    local ok = os.execute("printf %s " .. U.sh(s) .. " > " .. out)
    T.ok(ok, "sh failed on " .. U.sh(s))
    local fh = assert(io.open(out, "rb"))
    local got = fh:read("a")
    fh:close()
    T.eq(got, s, "U.sh(" .. string.format("%q", s) .. ")")
  end
end)

T.done()
