-- A README's provenance paragraph says which of its runs are copies of
-- another task's identical training (not trained again), and how many runs
-- trained at once when they were timed; each record keeps that number.
-- Before: "N trained by this command, 0 from records" for copies too, and
-- nothing said that the times were measured with --jobs runs at once.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local function script(name, seeds)
  local path = dir .. "/" .. name .. ".lua"
  util.write_file(path, string.format([[
return wb.task{name = %q, title = "t",
  experiment = {base = {hidden = 8, epochs = 1, subset = {train = 300, test = 100}},
    seeds = {%s}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]], name, seeds))
  return path
end
local function run(path, root, jobs)
  return T.sh(string.format("WB_ECHO=0 %s %s --root %s --jobs %d", T.wb, path, root, jobs))
end

T.test("a copy of another task's training is said to be one; the timing's conditions",
  function()
  local root = dir .. "/r"
  local st, _, err = run(script("donor", "1, 2, 3"), root, 2)
  T.eq(st, 0, err)
  for _, r in ipairs(wb.runs.load_all(root .. "/runs")) do
    T.eq(r.concurrent_jobs, 2, "the runner trained 2 at once")
    T.eq(r.cores, wb.sys.nproc(), "on this many cores")
  end
  local md = util.read_file(root .. "/donor/README.md")
  T.ok(md:find("3 runs: 3 trained by this command, 0 from records", 1, true), md)
  T.ok(md:find("measured with up to 2 runs training at once on " .. wb.sys.nproc()
    .. " cores.", 1, true), md)
  -- the same trainings in another task: copied, and said to be
  st, _, err = run(script("copier", "1, 2"), root, 1)
  T.eq(st, 0, err)
  md = util.read_file(root .. "/copier/README.md")
  T.ok(md:find("2 runs: 2 trained by this command (2 of them copies of an identical "
    .. "training in donor: same numbers, not trained again), 0 from records", 1, true), md)
  -- their times are the donor's: so are the conditions they were measured in
  T.ok(md:find("up to 2 runs training at once", 1, true), md)
  -- read again from the records: still copies
  st, _, err = run(script("copier", "1, 2"), root, 1)
  T.eq(st, 0, err)
  md = util.read_file(root .. "/copier/README.md")
  T.ok(md:find("2 runs: 0 trained by this command, 2 from records (2 of them copies of an "
    .. "identical training in donor: same numbers, not trained again)", 1, true), md)
end)

T.test("in process, runs train one at a time: recorded as 1", function()
  local root = dir .. "/inproc"
  local task = dofile(script("alone", "1"))
  T.eq(wb.runner.main(task, {"--root", root}), 0)
  local r = wb.runs.load_all(root .. "/runs")[1]
  T.eq(r.concurrent_jobs, 1)
  T.ok(util.read_file(root .. "/alone/README.md"):find("up to 1 run training at once", 1,
    true))
end)

T.test("the paragraph's timing part: counts read back as floats, runs not recorded",
  function()
  local prov = require "wb.runner_provenance"
  T.eq(prov.timing{{concurrent_jobs = 2.0, cores = 2}, {concurrent_jobs = 1, cores = 2}, {}},
    " Timings (seconds per epoch and the like) measured with up to 2 runs training at once "
    .. "on 2 cores (1 run: not recorded).")
  T.eq(prov.timing{{}}, " Timings: how many runs trained at once (they share the cores) is "
    .. "not recorded.")
  T.eq(prov.copies{{reused_from = "task03_epochs-0a1b"}, {}}, " (1 of them a copy of an "
    .. "identical training in task03_epochs: same numbers, not trained again)")
end)

T.test("WB_CONCURRENT_JOBS that is not a count is an error naming it", function()
  local p, root = script("bad", "1"), dir .. "/bad"
  local _, list = T.sh(string.format("%s %s --root %s --list-runs", T.wb, p, root))
  local hash = T.ok(list:match("%-%-run (%x+)"), list)
  local st, _, err = T.sh(string.format("WB_ECHO=0 WB_CONCURRENT_JOBS=two %s %s --root %s "
    .. "--run %s", T.wb, p, root, hash))
  T.ok(st ~= 0, "refused")
  T.ok(err:find("WB_CONCURRENT_JOBS is 'two'", 1, true), err)
end)

T.test("a README's 'Hooks read' says a query's records and a device as such", function()
  -- they fell to a file's text: "wb.runs.find{...} in <dir> (xxh128 01234567)",
  -- "/dev/urandom (xxh128 device)" (identZ's note for this file)
  local P, reads = require "wb.runner_provenance", require "wb.identity_reads"
  T.eq(P.read_text({path = 'wb.runs.find{task = "B"} in /x/runs',
    id = "0123456789abcdef0123456789abcdef", found = {dir = "/x/runs",
    records = {["B-1.json"] = "a", ["B-2.json"] = "b"}}}),
    'wb.runs.find{task = "B"} in /x/runs (2 records)')
  T.eq(P.read_text({path = "/dev/urandom", id = reads.sys.DEVICE}),
    "/dev/urandom (a device: other bytes at every read, never reused)")
end)

T.done()
