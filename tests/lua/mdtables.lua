-- mdtables.lua: the tables of a Markdown text as a Markdown parser sees
-- them (GitHub's rule: a header row, a delimiter row, then body rows until a
-- line that is not a row). Returns the problems found, each naming the line:
-- a row outside a table (cut off by a blank line), a delimiter without a
-- header, a row whose cell count differs from its header's.
local M = {}

-- The cells of a table row: split on "|" not escaped, outer pipes dropped.
local function cells(line)
  local s = line:gsub("^%s*|", ""):gsub("|%s*$", "")
  local n = 1
  local i = 1
  while i <= #s do
    local c = s:sub(i, i)
    if c == "\\" then i = i + 1
    elseif c == "|" then n = n + 1 end
    i = i + 1
  end
  return n
end

local function is_row(l) return l:match("^%s*|") ~= nil end
local function is_delim(l) return l:match("^%s*|?%s*:?%-%-%-*:?%s*|") ~= nil end

function M.check(text, name)
  local problems, lines = {}, {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local in_code, i, tables = false, 1, 0
  while i <= #lines do
    local l = lines[i]
    if l:match("^```") then in_code = not in_code end
    if not in_code and is_row(l) then
      if is_delim(l) then
        problems[#problems + 1] = string.format("%s:%d: delimiter row without a header", name, i)
      elseif lines[i + 1] and is_delim(lines[i + 1]) then
        tables = tables + 1
        local want = cells(l)
        if cells(lines[i + 1]) ~= want then
          problems[#problems + 1] = string.format("%s:%d: delimiter has %d cells, header %d",
            name, i + 1, cells(lines[i + 1]), want)
        end
        i = i + 2
        while lines[i] and is_row(lines[i]) do
          if cells(lines[i]) ~= want then
            problems[#problems + 1] = string.format("%s:%d: %d cells, header has %d", name, i,
              cells(lines[i]), want)
          end
          i = i + 1
        end
        i = i - 1
      else
        problems[#problems + 1] = string.format("%s:%d: a table row outside a table "
          .. "(a blank line inside a table?): %s", name, i, l:sub(1, 60))
      end
    end
    i = i + 1
  end
  return problems, tables
end

return M
