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
-- with each control character replaced by a space. The model (measured
-- on gnuplot 5.4): 'single quoted' strings expand nothing but '' (one
-- quote), and only where the byte before that pair is not a quote itself:
-- so a token starting with '' is the empty string, and 'a''''b' is "a'"
-- then a stray 'b' (two quotes in a row cannot be written inside one
-- single-quoted string); and before lexing, @name is macro-expanded where
-- gnuplot's naive quote tracking (every ' and every unescaped " toggles)
-- sees no quote;
-- "double quoted" strings expand \ooo, \\ and \" (other escapes are
-- outside the model) and run `backquoted` shell commands (refused);
-- tokens are joined by the . operator. tests/lua/test_gpquote checks the
-- model against the real gnuplot.
-- Property of U.sh(s): a POSIX shell word ('...' pieces and \' escapes)
-- whose value is exactly s.
return function(root)
  local U = dofile(root .. "/bindings/lua/wb/plot/util.lua")

  -- The strings of a gnuplot string expression, concatenated; nil, why.
  -- mode: nil (the full property), "line" (the expression alone on a
  -- line: only expansion is checked) or "lex" (the lexer alone).
  local function gp_value(e, mode)
    local no_macros = mode == "lex"
    -- gnuplot's macro pass (expand_1level_macros in command.c) runs first,
    -- over the whole line, with its own quote tracking: every ' toggles
    -- "in single quotes" (also inside "..."), every " not after a
    -- backslash toggles "in double quotes", a backslash inside "..."
    -- toggles "after backslash", # outside both starts a comment, and
    -- @name (a letter after @) outside both is replaced. The expression
    -- must not trigger it, and must hold an even number of ' (else the
    -- rest of the command line is misread).
    -- Checked from two starting states: outside all quotes, and inside a
    -- double quote left open earlier on the line (an odd number of " in a
    -- previous title): U.q output holds " wherever the text does.
    for _, dq0 in ipairs(mode and {false} or {false, true}) do
      local sq, dq, bs, comment = false, dq0, false, false
      for k = 1, #e do
        local c = e:sub(k, k)
        if c == "@" then
          if not sq and not dq and not comment and not no_macros
              and e:sub(k + 1, k + 1):find("^%a") then
            return nil, "gnuplot would expand the macro at byte " .. k
              .. (dq0 and " (after an open double quote)" or "")
          end
          bs = false
        elseif c == '"' then
          if not bs then dq = not dq end
          bs = false
        elseif c == "'" then
          sq, bs = not sq, false
        elseif c == "\\" then
          if dq then bs = not bs end
        else
          if c == "#" and not sq and not dq then comment = true end
          bs = false
        end
      end
      if sq and not mode then
        return nil, "an odd number of ' : gnuplot's macro scan stays inside single "
          .. "quotes, so @names later on the line count as outside"
      end
    end
    local i, n, out = 1, #e, {}
    local want_string = true
    while i <= n do
      local c = e:sub(i, i)
      if c == " " then
        i = i + 1
      elseif want_string and c == "'" then
        local j, buf = i + 1, {}
        while true do
          local d = e:sub(j, j)
          if d == "" then return nil, "unterminated single-quoted string at byte " .. i end
          if d == "'" then
            -- gnuplot 5.4: a quote escapes the next one only when the byte
            -- before it is not a quote (so '' is a whole token, and in
            -- 'a''''b' the string ends after the first pair)
            if e:sub(j - 1, j - 1) ~= "'" and e:sub(j + 1, j + 1) == "'" then
              buf[#buf + 1] = "'"; j = j + 2
            else break end
          else
            buf[#buf + 1] = d; j = j + 1
          end
        end
        out[#out + 1] = table.concat(buf)
        i, want_string = j + 1, false
      elseif want_string and c == '"' then
        local j, buf = i + 1, {}
        while true do
          local d = e:sub(j, j)
          if d == "" then return nil, "unterminated double-quoted string at byte " .. i end
          if d == '"' then break end
          if d == "`" then
            return nil, "backquote in a double-quoted string at byte " .. j
              .. " (gnuplot runs it as a shell command)"
          end
          if d == "\\" then
            local oct, nx = e:match("^[0-7][0-7][0-7]", j + 1), e:sub(j + 1, j + 1)
            if oct then
              buf[#buf + 1] = string.char(tonumber(oct, 8) % 256); j = j + 4
            elseif nx == "\\" or nx == '"' then
              buf[#buf + 1] = nx; j = j + 2
            else
              return nil, "escape \\" .. nx .. " at byte " .. j .. " (not in the model)"
            end
          else
            buf[#buf + 1] = d; j = j + 1
          end
        end
        out[#out + 1] = table.concat(buf)
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
    if q:find("%c") then
      return "U.q output holds a control character: " .. string.format("%q", q)
    end
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
