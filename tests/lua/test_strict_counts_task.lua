-- test_strict_counts_task.lua: a task's methods in its report (text,
-- section, figure, compare, path, data) and wb.record's functions ran a
-- call with more arguments than they take as if the extras were not there
-- (task:figure(name, plot, caption, "x"), wb.record.path(root, task, hash,
-- ext, "x")); now each is an error naming the function, what it takes and
-- what it got, at the caller's line, as wb.runs' are (test_strict_counts).
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local args = require "wb.args"

T.test("a task's method or wb.record's function with one argument more: an error", function()
  local t = wb.task.new({name = "counts", experiment = {base = {hidden = 8, epochs = 1}}},
    "test")
  local err = T.check_error("wb.Task:text: takes at most 1 argument (s), got 2",
    function() t:text("a", "b") end)
  T.ok(err:find("^[^:]*test_strict_counts_task%.lua:%d+: wb%.Task:text"), err)
  T.eq(#t.blocks, 0, "nothing written")
  -- a call's several results as the last argument (tryV 5: wb.compare returns three): the
  -- error says how to pass the first alone, and that way works
  local function three() return "sentence", {}, {} end
  T.check_error("got 3 (a call as the last argument passes all its results: wrap it in "
    .. "parentheses", function() t:text(three()) end)
  t:text((three()))
  T.eq(t.blocks[#t.blocks], "sentence\n")
  t.blocks = {}
  T.check_error("wb.Task:figure: takes at most 3 arguments", function()
    t:figure("f", {}, "caption", "x") end)
  T.check_error("wb.Task:section: takes at most 1 argument", function() t:section("s", 2) end)
  T.check_error("wb.record.path: takes at most 4 arguments", function()
    wb.record.path(nil, "t", "0123456789abcdef", "json", "x") end)
  T.check_error("wb.record.dir: takes at most 1 argument", function() wb.record.dir("a", "b") end)
  -- the right number still works, as before
  T.eq(wb.record.dir("a"), "a/runs")
  t.dir = "/tmp/x"
  T.eq(t:path("f.png"), "/tmp/x/f.png")
end)

T.test("every public method of wb.Task and function of wb.record refuses one more", function()
  local n = 0
  for _, c in ipairs{{wb.task._Task, "wb.Task:", true}, {wb.record, "wb.record."}} do
    for k, f in pairs(c[1]) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" and type(f) == "function" then
        local orig = args.unchecked(f)
        T.ok(orig ~= f, c[2] .. k .. " is not checked")
        local nils = {}
        for i = 1, debug.getinfo(orig, "u").nparams + 1 do nils[i] = false end
        local ok, err = pcall(f, table.unpack(nils))
        T.ok(not ok and tostring(err):find(": takes at most %d+ arguments? %(.*%), got %d+"),
          c[2] .. k .. ": " .. tostring(err))
        n = n + 1
      end
    end
  end
  T.ok(n >= 16, "methods and functions checked: " .. n)
end)

T.done()
