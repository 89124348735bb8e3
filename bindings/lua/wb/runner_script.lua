-- wb/runner_script.lua: where a task's script came from, beside the
-- workbench's own commit (util.commit_text): the script's git repository
-- (found from its folder, not the workbench's), its commit, and which of the
-- files that made the numbers are not as committed: the script and the Lua
-- modules this process required (its helpers), each edited, untracked,
-- git-ignored (plots/ is) or outside that repository; those get a content
-- id (XXH3-128, as a record's read_files: its first 8 hex digits in text).
-- A script in no repository is "not in a commit", with its content id.
-- A README's provenance paragraph (wb/task.lua) and, once a record carries
-- M.record's table (its field script), the exports say it.
--
-- git runs at most twice per process and script (M.info caches it): never
-- per run or step.
local _ENV = require "wb.std"
local wb = require "wb"
local util = require "wb.util"
local reads = require "wb.identity_reads"

local M = {}

local git = util.git

-- path relative to folder top when under it, else nil
local function under(path, top)
  if top and path:sub(1, #top + 1) == top .. "/" then return path:sub(#top + 2) end
  return nil
end

local cache = {}
-- M.info(script) -> table|nil: {path = the script's absolute path, repo =
-- its repository's top folder (nil: in none), commit = that repository's
-- HEAD (short; nil: none, or no commit yet), files = {{path, state, id}}}:
-- the script and the modules this process required (wb.identity_reads), each
-- with its state "committed" (as in the commit: no id), "edited" (tracked,
-- changed since: git status), "untracked", "ignored" (.gitignore'd), "outside"
-- (not under repo), "no repository" or "git not available" (then git_why
-- says why: util.git_why); id: its content id when not committed. nil when
-- script is nil or not a file (-e, the REPL).
function M.info(script)
  if type(script) ~= "string" or not wb.sys.exists(script) then return nil end
  local ropts = require "wb.runner_options"
  local path = ropts.absolute(script)
  if cache[path] then return cache[path] end
  local dir = util.dirname(path)
  local top, commit = git(dir, {"rev-parse", "--show-toplevel", "--short", "HEAD"}):match(
    "^([^\n]*)\n?(%x*)")
  top = top ~= "" and top or nil
  local files, rel = {path}, {}
  for _, m in ipairs(reads.modules()) do
    if m ~= path then files[#files + 1] = m end
  end
  local state = {}
  if top then
    for _, f in ipairs(files) do rel[#rel + 1] = under(f, top) end
    if #rel > 0 then -- one call: tracked and clean files are not listed
      local out = git(top, {"status", "--porcelain", "--untracked-files=all", "--ignored", "--",
        table.unpack(rel)})
      for line in out:gmatch("[^\n]+") do
        local xy, p = line:sub(1, 2), line:sub(4):gsub("^.* %-> ", "")
        state[top .. "/" .. p] = xy == "??" and "untracked" or xy == "!!" and "ignored"
          or "edited"
      end
    end
  end
  -- why git could not be run, when it could not (said in M.text)
  local info = {path = path, repo = top, commit = top and commit ~= "" and commit or nil,
    files = util.array(), git_why = not top and util.git_why() or nil}
  for _, f in ipairs(files) do
    local s = not top and (util.git_why() and "git not available" or "no repository")
      or not under(f, top) and "outside" or state[f]
      or "committed"
    info.files[#info.files + 1] = {path = f, state = s,
      id = s ~= "committed" and reads.file_id(f) or nil}
  end
  cache[path] = info
  return info
end

-- M.running() -> script|nil, how: the script this process runs (arg[0]), or nil and how it
-- runs instead: "-e", "the REPL" or "embedded" (no arg). -e and the REPL leave arg[-1] nil
-- and set arg[0] to the executable, which is no script (wb.runner_options.this_command reads
-- them so): records of -e named the workbench executable as their script (tryR 4).
function M.running()
  local a = rawget(_G, "arg")
  if type(a) ~= "table" then return nil, "embedded" end
  if a[-1] ~= nil then return a[0] end
  return nil, a[1] == nil and "the REPL" or "-e"
end

-- M.record() -> table|nil: for a run record's field script (the commit of the study's own
-- code, as git_commit is the workbench's): M.info of the running script; {typed = how} when
-- there is none (-e, the REPL: the record's command says what ran); nil when it is no file.
function M.record()
  local script, how = M.running()
  if script then return M.info(script) end
  return {typed = how}
end

-- M.named(s) -> path|nil: the script file a record's field script names; nil when it names
-- none (typed: -e, the REPL; a record from before scripts were recorded) or names the
-- workbench executable itself (an ELF file: what an older workbench recorded for -e).
function M.named(s)
  local p = type(s) == "table" and s.typed == nil and s.path
  if type(p) ~= "string" then return nil end
  local f = io.open(p, "rb")
  local head = f and f:read(4)
  if f then f:close() end
  if head == "\127ELF" then return nil end
  return p
end

local function shown(p)
  local cwd = require("wb.runner_options").absolute("."):gsub("/%.$", "")
  return under(p, cwd) or p
end

-- M.text(info) -> string: "initscale.lua at commit 38a9001 of /home/me/study
-- (as committed, with scalehelp.lua)", "... at commit 38a9001 of /home/me/study;
-- not as committed: scalehelp.lua (edited; xxh128 1a2b3c4d)" or
-- "plots/x.lua (xxh128 1a2b3c4d): not in a commit (git-ignored in /w)";
-- "no script file (-e: its command says what ran)" for a record of -e or the REPL;
-- "unknown" for nil (a record from before scripts were recorded). Paths
-- relative to the current folder when under it, unless absolute (an export).
function M.text(info, absolute)
  local shown = absolute and function(p) return p end or shown
  if type(info) == "table" and info.typed then
    return info.typed == "the REPL" and "no script file (typed at the REPL)"
      or string.format("no script file (%s: its command says what ran)", tostring(info.typed))
  end
  if type(info) ~= "table" or type(info.path) ~= "string" then return "unknown" end
  local files = type(info.files) == "table" and info.files or {}
  local script, others, dirty = files[1] or {path = info.path, state = "?"}, {}, {}
  for i = 2, #files do others[#others + 1] = shown(tostring(files[i].path)) end
  for _, f in ipairs(files) do
    if f.state ~= "committed" then
      dirty[#dirty + 1] = string.format("%s (%s; xxh128 %s)", shown(tostring(f.path)),
        f.state == "ignored" and "git-ignored" or f.state == "outside"
        and "outside that repository" or tostring(f.state), tostring(f.id):sub(1, 8))
    end
  end
  local with = #others > 0 and ", with " .. table.concat(others, ", ") or ""
  if not info.repo then
    return string.format("%s (xxh128 %s): not in a commit (%s)%s", shown(info.path),
      tostring(script.id):sub(1, 8), script.state == "git not available" and "git not "
      .. "available: " .. tostring(info.git_why or "not on PATH") or "in no git repository",
      with ~= "" and "; " .. table.concat(dirty, ", ", 2) or "")
  elseif script.state == "ignored" or script.state == "untracked" or not info.commit then
    -- the script's id beside its name, as above: the list of files not as committed
    -- began with it again ("x.lua: not in a commit (...); x.lua (git-ignored; ...)", tryV 11)
    if dirty[1] and files[1] and files[1].state ~= "committed" then table.remove(dirty, 1) end
    return string.format("%s%s: not in a commit (%s in %s)%s", shown(info.path),
      script.id and " (xxh128 " .. tostring(script.id):sub(1, 8) .. ")" or "",
      not info.commit and "no commit yet" or script.state == "ignored" and "git-ignored"
      or "untracked", info.repo,
      #dirty > 0 and "; " .. table.concat(dirty, ", ") or "")
  end
  return string.format("%s at commit %s of %s%s", shown(info.path), info.commit, info.repo,
    #dirty == 0 and " (as committed" .. with .. ")" or "; not as committed: "
    .. table.concat(dirty, ", "))
end

return M
