-- README's GNU parallel recipe over ssh, end to end against an sshd of its
-- own on 127.0.0.1 (throwaway host and user keys, its own port and config in
-- a temporary folder): --list-runs | parallel --sshlogin with a shared
-- root, and without one (the remote root copied back with scp and imported
-- with --gather, which checks identity and never overwrites a different
-- record). sshd is stopped by pid whatever happens; an sshd that does not
-- start is a failure with its log (make deps installs openssh-server).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()
local pwd = os.getenv("PWD")
local exe = T.wb:sub(1, 1) == "/" and T.wb or (pwd .. "/" .. T.wb)
local TIMEOUT = 300 -- seconds, for every command that could hang
local cfg = dir .. "/ssh_config"
local pidfile = dir .. "/sshd.pid"

local function start_sshd()
  if T.sh("{ test -x /usr/sbin/sshd && command -v ssh && command -v parallel; }") ~= 0 then
    error("sshd, ssh or parallel missing: `make deps` installs openssh-server and parallel")
  end
  local port = T.free_ports(1)
  local st, _, err = T.sh(string.format("ssh-keygen -q -t ed25519 -N '' -f %s/host_key && "
    .. "ssh-keygen -q -t ed25519 -N '' -f %s/id && cp %s/id.pub %s/authorized_keys",
    dir, dir, dir, dir))
  if st ~= 0 then error("ssh-keygen: " .. err) end
  util.write_file(dir .. "/sshd_config", table.concat({"ListenAddress 127.0.0.1",
    "Port " .. port, "HostKey " .. dir .. "/host_key", "PidFile " .. pidfile,
    "AuthorizedKeysFile " .. dir .. "/authorized_keys", "PasswordAuthentication no",
    "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
    -- the keys live in a temporary folder, not under a home with strict modes
    "StrictModes no", "UsePAM no", "LogLevel VERBOSE", "MaxStartups 100",
    "Subsystem sftp internal-sftp"}, "\n") .. "\n")
  util.write_file(cfg, table.concat({"Host wbhost", "  HostName 127.0.0.1", "  Port " .. port,
    "  IdentityFile " .. dir .. "/id", "  IdentitiesOnly yes", "  BatchMode yes",
    "  StrictHostKeyChecking no", "  UserKnownHostsFile " .. dir .. "/known_hosts",
    "  LogLevel ERROR"}, "\n") .. "\n")
  -- sshd as root needs its privilege separation folder (made at boot by
  -- systemd); made here when missing, and left: every sshd checks it again
  -- for each connection, and this test of another clone (or another
  -- worktree) may be running one. Removed at the end, the other's
  -- connections were reset in key exchange ("kex_exchange_identification:
  -- read: Connection reset by peer": sshd's "Missing privilege separation
  -- directory").
  if T.sh("test -d /run/sshd") ~= 0 and T.sh("id -u | grep -qx 0") == 0 then
    os.execute("mkdir -p -m 755 /run/sshd")
  end
  st, _, err = T.sh(string.format("/usr/sbin/sshd -f %s/sshd_config -E %s/sshd.log", dir, dir))
  if st ~= 0 then error("sshd did not start: " .. err .. (util.read_file(dir .. "/sshd.log")
    or "")) end
  for _ = 1, 100 do
    if T.sh(string.format("timeout 10 ssh -F %s wbhost true", cfg)) == 0 then return end
    os.execute("sleep 0.1")
  end
  error("no ssh login to 127.0.0.1:" .. port .. ":\n" .. util.tail(dir .. "/sshd.log", 20))
end

local function stop_sshd()
  local pid = tonumber((util.read_file(pidfile) or ""):match("%d+"))
  if pid then
    os.execute("kill -TERM " .. pid .. " 2>/dev/null")
    for _ = 1, 50 do
      if not util.pid_alive(pid) then break end
      os.execute("sleep 0.1")
    end
    if util.pid_alive(pid) then os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
  end
  return pid
end

local tiny = dir .. "/tiny.lua"
util.write_file(tiny, [[
return wb.task{name = "tiny", experiment = {base = {hidden = 8, epochs = 1,
  subset = {train = 200, test = 100}}, vary = {dropout = {0, 0.2}}, seeds = {1, 2}},
  report = function(task, runs) task:text(runs:table{"test_accuracy"}) end}
]])

local function logins()
  return select(2, (util.read_file(dir .. "/sshd.log") or ""):gsub("Accepted publickey", ""))
end

-- The recipe's first line: every listed run through parallel over ssh. On a
-- loaded machine sshd may reset a connection during key exchange
-- ("kex_exchange_identification: Connection reset by peer"): parallel
-- retries such a job (a retried run is cached or trains again, same record).
local function sweep(root)
  return T.sh(string.format("cd / && %s %s --list-runs --root %s | timeout %d parallel "
    .. "--retries 3 --ssh 'ssh -F %s' --sshlogin 2/wbhost", exe, tiny, root, TIMEOUT, cfg))
end

-- The tail of sshd's log, for a failure's message (a reset in key exchange
-- says nothing on the client's side).
local function sshd_log() return "\nsshd.log:\n" .. util.tail(dir .. "/sshd.log", 25) end

local function tests()
  T.test("parallel --sshlogin with a shared root: every run trained over ssh, then drawn",
    function()
    local root = dir .. "/shared"
    local before = logins()
    local st, out, err = sweep(root)
    T.eq(st, 0, out .. err .. sshd_log())
    T.ok(logins() - before >= 4, "each of the 4 runs through an ssh login")
    T.eq(#wb.runs.load_all(root .. "/runs"), 4, "4 records")
    st, _, err = T.sh(string.format("%s %s --root %s", exe, tiny, root))
    T.eq(st, 0, err)
    T.ok(err:find("4 runs: 4 cached, 0 to train", 1, true), err)
    T.ok(wb.sys.exists(root .. "/tiny/README.md"), "drawn")
  end)

  T.test("without a shared root: scp the remote root back, --gather, draw", function()
    local remote, fetched, here = dir .. "/remote", dir .. "/fetched", dir .. "/here"
    local st, out, err = sweep(remote)
    T.eq(st, 0, out .. err .. sshd_log())
    st, _, err = T.sh(string.format("for i in 1 2 3; do rm -rf %s; timeout %d scp -F %s -q "
      .. "-r wbhost:%s %s && exit 0; sleep 1; done; exit 1", fetched, TIMEOUT, cfg,
      remote, fetched))
    T.eq(st, 0, err .. sshd_log())
    st, _, err = T.sh(string.format("%s %s --root %s --gather %s", exe, tiny, here, fetched))
    T.eq(st, 0, err)
    T.ok(err:find("4 imported, 0 already here", 1, true), err)
    T.ok(err:find("4 runs: 4 cached, 0 to train", 1, true), "nothing trained here: " .. err)
    local recs = wb.runs.load_all(here .. "/runs")
    T.eq(#recs, 4)
    for _, r in ipairs(recs) do
      T.ok(wb.sys.exists(wb.record.path(here, "tiny", r.hash, "safetensors")), "weights too")
    end
    -- again: all already here, nothing imported twice
    st, _, err = T.sh(string.format("%s %s --root %s --gather %s", exe, tiny, here, fetched))
    T.eq(st, 0, err)
    T.ok(err:find("0 imported, 4 already here", 1, true), err)
  end)

  T.test("--gather never overwrites a different record; mislabelled ones are refused",
    function()
    local here, other = dir .. "/here", dir .. "/other"
    local names = wb.sys.listdir(dir .. "/fetched/runs")
    table.sort(names)
    local rec
    for _, n in ipairs(names) do
      if n:match("^tiny%-%x+%.json$") then rec = rec or n end
    end
    wb.sys.mkdir_p(other .. "/runs")
    local r = assert(wb.record.read(dir .. "/fetched/runs/" .. rec))
    r.metrics.test_accuracy = 0.5 -- another training of the same run (its own checksum)
    wb.record.write(other .. "/runs/" .. rec, r)
    local forged = rec:gsub("%x+%.json$", "0123456789abcdef.json")
    wb.record.write(other .. "/runs/" .. forged, r) -- content says another hash
    local mine = util.read_file(here .. "/runs/" .. rec)
    local st, _, err = T.sh(string.format("%s %s --root %s --gather %s", exe, tiny, here, other))
    T.eq(st, 1, err)
    T.ok(err:find(rec .. ": conflict", 1, true), err)
    T.ok(err:find(forged .. ": not taken: its content is run " .. r.hash, 1, true), err)
    T.eq(util.read_file(here .. "/runs/" .. rec), mine, "the record here is kept")
    T.ok(not wb.sys.exists(here .. "/runs/" .. forged), "the forged one is not imported")
    st, _, err = T.sh(string.format("%s %s --root %s --gather %s/nowhere", exe, tiny, here, dir))
    T.eq(st, 66, err)
  end)
end

local ok, err = pcall(start_sshd)
if ok then
  ok, err = pcall(tests)
  if not ok then T.test("the ssh tests ran", function() error(err, 0) end) end
else
  T.test("an sshd starts on 127.0.0.1", function() error(err, 0) end)
end
local pid = stop_sshd()
T.test("the sshd started is stopped", function()
  T.ok(not pid or not util.pid_alive(pid), "sshd (pid " .. tostring(pid) .. ") stopped")
end)
T.test("/run/sshd is left for the sshds of others (as root)", function()
  -- (removed, another clone's sshd reset every connection; checked by hand in
  -- a mount namespace: `unshare -m`, tmpfs on /run, rmdir /run/sshd, ssh)
  if T.sh("id -u | grep -qx 0") == 0 then T.ok(wb.sys.exists("/run/sshd"), "removed") end
end)
T.done()
