-- gpquote_check.lua - the property of wb.plot's quoting functions, checked
-- on any byte string by the fuzz target (fuzz_gpquote.c, which embeds Lua)
-- and by the replay test (tests/lua/test_gpquote.lua).
--
--   local check = dofile("tests/fuzz/gpquote_check.lua")(root)
--   check(s) --> nil when the property holds, else a message
--
-- Property of U.q(s) (bindings/lua/wb/plot/util.lua): the text has no
-- control character (a newline would end the gnuplot command) and, read
-- by a model of gnuplot's lexer, is one string expression whose value is s
-- with each control character replaced by a space. The model: 'single
-- quoted' strings with '' for a quote and nothing else expanded, except
-- that a token starting with '' is the empty string (gnuplot's quirk);
-- "double quoted" strings expand backslashes, so the quoter may only put
-- quotes in them; tokens joined by the . operator. tests/lua/test_gpquote
-- checks the model against the real gnuplot.
-- Property of U.sh(s): a POSIX shell word ('...' pieces and \' escapes)
-- whose value is exactly s.
return function(root)
  local U = dofile(root .. "/bindings/lua/wb/plot/util.lua")

  -- The strings of a gnuplot string expression, concatenated; nil, why.
  local function gp_value(e)
    local i, n, out = 1, #e, {}
    local want_string = true
    while i <= n do
      local c = e:sub(i, i)
      if c == " " then
        i = i + 1
      elseif want_string and c == "'" then
        if e:sub(i + 1, i + 1) == "'" then
          return nil, "a token starts with '' (gnuplot reads the empty string) at byte " .. i
        end
        local j, buf = i + 1, {}
        while true do
          local d = e:sub(j, j)
          if d == "" then return nil, "unterminated single-quoted string at byte " .. i end
          if d == "'" then
            if e:sub(j + 1, j + 1) == "'" then buf[#buf + 1] = "'"; j = j + 2
            else break end
          else
            buf[#buf + 1] = d; j = j + 1
          end
        end
        out[#out + 1] = table.concat(buf)
        i, want_string = j + 1, false
      elseif want_string and c == '"' then
        local j = e:find('"', i + 1, true)
        if not j then return nil, "unterminated double-quoted string at byte " .. i end
        local body = e:sub(i + 1, j - 1)
        if body:find("[^']") then
          return nil, "double-quoted string holds " .. string.format("%q", body)
            .. " (gnuplot expands backslashes there)"
        end
        out[#out + 1] = body
        i, want_string = j + 1, false
      elseif not want_string and c == "." then
        i, want_string = i + 1, true
      else
        return nil, string.format("unexpected %q at byte %d", c, i)
      end
    end
    if want_string then return nil, "expression ends without a string" end
    return table.concat(out)
  end

  -- The value of a POSIX shell word made of '...' pieces and \x escapes.
  local function sh_value(w)
    local i, n, out = 1, #w, {}
    while i <= n do
      local c = w:sub(i, i)
      if c == "'" then
        local j = w:find("'", i + 1, true)
        if not j then return nil, "unterminated quote at byte " .. i end
        out[#out + 1] = w:sub(i + 1, j - 1)
        i = j + 1
      elseif c == "\\" and i < n then
        out[#out + 1] = w:sub(i + 1, i + 1)
        i = i + 2
      else
        return nil, string.format("unquoted %q at byte %d", c, i)
      end
    end
    return table.concat(out)
  end

  local M = {gp_value = gp_value, sh_value = sh_value, U = U}

  function M.check(s)
    local ok, q = pcall(U.q, s)
    if not ok then return "U.q raised: " .. tostring(q) end
    if type(q) ~= "string" then return "U.q returned a " .. type(q) end
    if q:find("%c") then return "U.q output holds a control character: " .. string.format("%q", q) end
    local want = s:gsub("%c", " ")
    local got, why = gp_value(q)
    if not got then return "U.q(" .. string.format("%q", s) .. ") = " .. q .. ": " .. why end
    if got ~= want then
      return string.format("U.q(%q) = %s reads as %q, expected %q", s, q, got, want)
    end
    local okw, w = pcall(U.sh, s)
    if not okw then return "U.sh raised: " .. tostring(w) end
    local v, why2 = sh_value(w)
    if not v then return "U.sh(" .. string.format("%q", s) .. ") = " .. w .. ": " .. why2 end
    if v ~= s then return string.format("U.sh(%q) = %s reads as %q", s, w, v) end
    return nil
  end

  return M
end
