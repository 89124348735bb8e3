-- test_path_nul.lua: a path with a NUL byte in it is refused, naming it: C
-- read the part before the NUL, another file (a new user's
-- wb.data.idx("x.idx\0junk") loaded x.idx, wb.image.load("a\0.png") loaded
-- "a"); an empty path says it names no file (it said ": cannot open").
local T = dofile("tests/lua/harness.lua")
local dir = T.tmpdir()

T.test("load and save refuse a NUL byte in the path, and an empty path", function()
  local m = T.tiny_mlp(1)
  m:save_weights(dir .. "/w")
  wb.image.save(wb.full({8, 8}, 0.5), dir .. "/a.png")
  local calls = {
    {"wb.image.load", function(p) return wb.image.load(p) end, dir .. "/a.png"},
    {"wb.image.save", function(p) return wb.image.save(wb.full({8, 8}, 0.5), p) end,
      dir .. "/b.png"},
    {"wb.data.idx", function(p) return wb.data.idx(p) end, dir .. "/w"},
    {"wb.io.load_safetensors", function(p) return wb.io.load_safetensors(p) end, dir .. "/w"},
    {"wb.io.save_safetensors", function(p) return wb.io.save_safetensors(p, {x = wb.zeros(2)})
      end, dir .. "/c"},
  }
  for _, c in ipairs(calls) do
    T.check_error("the path \"" .. c[3] .. "\" has a NUL byte after it: the file would be "
      .. "that part alone", c[2], c[3] .. "\0.png")
    T.check_error("an empty path names no file", c[2], "")
  end
  T.eq(wb.sys.kind(dir .. "/b.png"), nil, "nothing written at the part before the NUL")
end)

T.done()
