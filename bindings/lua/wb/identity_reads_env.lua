-- wb/identity_reads_env.lua: the environment variables a run's hooks read
-- (wb/identity_reads.lua records a run's reads). One a hook read is noted
-- as "$NAME" with an id of its value (a hash, which the runner compares) or
-- of its absence, and the value itself: it is a setting the user chose that
-- changes the run's numbers, as a config value does, and the README and
-- exports name it ($SCALE=2; with the hash alone no one could say which
-- value made them). A variable whose name says it is a secret (TOKEN,
-- SECRET, PASSWORD, KEY, ...) keeps the hash only: a record is shared with
-- the numbers it holds. The library's own reads are not a run's (where
-- output goes: $COLUMNS, $TERM, $WB_ECHO; the runner's), but for those that
-- decide what a hook gets, read on its behalf (BEHALF). Read again during the
-- run with another value (a C module's setenv), the run fails naming both
-- (wb/identity_reads_again.lua): a record names one value.
-- Installed into wb.identity_reads by it; private to the runner.
local _ENV = require "wb.std"

local ENV = "env:"
local function env_id(v) return ENV .. (v and require("wb.util").fnv1a64(v) or "unset") end
local SECRET = {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "KEY", "CREDENTIAL",
  "AUTH", "COOKIE", "SESSION"}
-- $WB_DATA: which files wb.data.load(name) in a hook reads (their paths are recorded, by
-- content: another $WB_DATA would read others under the same names)
local BEHALF = {WB_DATA = true}

-- Installs os.getenv's wrapper and M.secret_name into M (wb.identity_reads); I: its state
-- and functions (active, orig, own_caller). Returns the ids' prefix and env_id.
return function(M, I)
  local active, orig, own_caller = I.active, I.orig, I.own_caller
  function M.secret_name(name)
    local up = name:upper()
    for _, w in ipairs(SECRET) do
      if up:find(w, 1, true) then return true end
    end
    return false
  end
  local function env_read(name)
    for _, t in ipairs(active) do
      local key, v = "$" .. name, orig.getenv(name)
      if t.seen[key] then -- read again: as at the first read, or the run fails
        M.again_value(t, key, env_id(v), v, M.secret_name(name))
      else
        t.seen[key], t.ids[key] = true, env_id(v)
        if v and not M.secret_name(name) then t.values[key] = v end
        t.order[#t.order + 1] = key
      end
    end
  end
  -- a hook that reads $WIDTH builds another model when it changes
  os.getenv = function(name, ...)
    if #active > 0 and type(name) == "string" and (not own_caller() or BEHALF[name]
        and M.sys.by_hook(active[1])) then
      env_read(name)
    end
    return orig.getenv(name, ...)
  end
  return ENV, env_id
end
