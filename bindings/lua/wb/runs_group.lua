-- wb/runs_group.lua: which runs may be averaged together, and how to say
-- what sets the others apart. Private to wb/runs.lua (and its exports).
--
-- Runs pool only when they are seeds of one configuration: equal
-- wb.record.group_key. For runs under one variant label that are not, this
-- module names what differs (task, config keys, fit options, identity
-- hashes), for an error or for labels that keep the groups apart.
local _ENV = require "wb.std"
local util = require "wb.util"
local record = require "wb.record"

local M = {}

-- Raise "bad argument #n to 'fname' (expected expected, got type(v))" at
-- the caller of the function that checks (depth more levels further up);
-- i: the index of a bad item.
function M.argcheck(ok, n, fname, expected, v, i, depth)
  if ok then return end
  local got = type(v) .. (i and string.format(" at [%d]", i) or "")
  require("wb.args").input_fail(string.format("bad argument #%d to '%s' (%s expected, got %s)",
    n, fname, expected, got), 3 + (depth or 0))
end

local keys = setmetatable({}, {__mode = "k"}) -- record -> group key, computed once
local function key(r)
  local k = keys[r]
  if not k then k = record.group_key(r); keys[r] = k end
  return k
end

-- The files every run of rs read (read_files: paths its hooks loaded or opened), sorted.
local function common_reads(rs)
  local count = {}
  for _, r in ipairs(rs) do
    local seen = {}
    for _, f in ipairs(type(r.read_files) == "table" and r.read_files or {}) do
      if type(f) == "table" and f.path and not seen[f.path] then
        seen[f.path] = true
        count[f.path] = (count[f.path] or 0) + 1
      end
    end
  end
  local out = {}
  for p, n in pairs(count) do if n == #rs then out[#out + 1] = p end end
  table.sort(out)
  return out
end

-- The content id run r read file path as, or nil.
local function read_id(r, path)
  for _, f in ipairs(type(r.read_files) == "table" and r.read_files or {}) do
    if type(f) == "table" and f.path == path then return f.id end
  end
end

-- record -> its key when split from others of its group_key (below)
local split_key = setmetatable({}, {__mode = "k"})

-- The hooks of record r that could not be identified (a closure over a
-- tensor): its group key names them "unidentified", whatever their code, so
-- runs of one variant trained by other code of the hook (edited between
-- runs) share it. Their runs retrain every time, all seeds together: a list
-- of one runner's records (ex:run()) pools them; wb.runs.find, which reads
-- a folder, cannot tell which code trained which, and keeps each run apart
-- (split's `stored`), as does an export's group_key column (M.export_key).
local HOOKS = {"build", "callbacks", "fit_options", "measure"}
local function unidentified(r)
  local id = type(r.identity) == "table" and r.identity or {}
  for _, h in ipairs(HOOKS) do
    if id[h] == "unidentified" then return true end
  end
  return false
end
M.unidentified = unidentified

-- The key of the seeds record r pools with (an export's group_key column):
-- its wb.record.group_key, with "+reads:..." when the last list it was in
-- (M.pool, wb.runs.find) split it from others of that key (a shared file read as
-- other contents), "+run:<hash>" when wb.runs.find kept it apart (a hook that
-- cannot be identified).
function M.key_of(r) return split_key[r] or key(r) end

-- Runs rs split by group key, groups in order of first appearance:
-- {{key = k, runs = {...}}, ...}. Runs of one key that read a file they all
-- read (a params.lua of their hooks) as other contents are split too: a
-- retraining stopped halfway leaves seeds of the file as it was beside seeds
-- of the file as it is, which differ in more than the seed. (A file each
-- seed reads on its own, init_<seed>.safetensors, is not shared: no split.)
local function split(rs, stored)
  local out, at = {}, {}
  for _, r in ipairs(rs) do
    local k = key(r)
    if stored and unidentified(r) then k = k .. "+run:" .. tostring(r.hash) end
    if not at[k] then at[k] = #out + 1; out[#out + 1] = {key = k, runs = {}} end
    local g = out[at[k]].runs
    g[#g + 1] = r
  end
  local final = {}
  for _, g in ipairs(out) do
    local paths = #g.runs > 1 and common_reads(g.runs) or {}
    local sub, sub_at = {}, {}
    for _, r in ipairs(g.runs) do
      local ids = {}
      for i, p in ipairs(paths) do ids[i] = tostring(read_id(r, p)) end
      local sk = table.concat(ids, "\0")
      if not sub_at[sk] then
        sub_at[sk] = #sub + 1
        sub[#sub + 1] = {key = g.key, runs = {}}
      end
      table.insert(sub[sub_at[sk]].runs, r)
    end
    if g.key ~= key(g.runs[1]) then
      for _, r in ipairs(g.runs) do split_key[r] = g.key end
    end
    if #sub > 1 then
      for _, s in ipairs(sub) do
        s.key = s.key .. "+reads:" .. util.fnv1a64(util.canonical(s.runs[1].read_files))
        for _, r in ipairs(s.runs) do split_key[r] = s.key end
      end
    end
    table.move(sub, 1, #sub, #final + 1, final)
  end
  return final
end

M.read_id = read_id

-- Whether key k names a file the hooks read (read:<path>), as labels show it.
function M.is_read(k) return type(k) == "string" and k:sub(1, 5) == "read:" end

-- A read file's content id ("size:hash") shortened as a label shows it.
function M.read_shown(id) return id:sub(1, 12) .. (#id > 12 and "..." or "") end

-- The value at "task" or "<field>.<key>" (config, fit_options, identity).
local function get(r, path)
  if M.is_read(path) then
    local id = read_id(r, path:sub(6))
    return id and M.read_shown(id)
  end
  local field, k = path:match("^([^.]+)%.(.+)$")
  if not field then return r[path] end
  return type(r[field]) == "table" and r[field][k] or nil
end

-- A value as labels show it: util.show's, but a number that is no integer in
-- the shortest text that reads back as the same double ("%.17g" trimmed):
-- lr = 0.001 and lr = 0.0010000000000000002 set two groups apart, and both
-- labels said "lr=0.001". A table's numbers too ({test=500,train=2000}).
local function exact(v)
  if type(v) == "number" and v == v and math.abs(v) ~= math.huge
      and math.type(v) == "float" and not (v == math.floor(v) and math.abs(v) < 1e15) then
    for p = 1, 17 do
      local s = string.format("%." .. p .. "g", v)
      if tonumber(s) == v then return s end
    end
  elseif type(v) == "table" then
    local parts = {}
    for _, k in ipairs(util.sorted_keys(v)) do parts[#parts + 1] = k .. "=" .. exact(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return util.show(v)
end
M.show_exact = exact

local function show(v)
  if v == nil then return "none" end
  return exact(v)
end

-- Fields that differ between seeds of one configuration (the seed, and hashes over
-- everything with the seed): never what sets groups apart.
local PER_SEED = {["config.seed"] = true, ["fit_options.seed"] = true,
  ["identity.run"] = true, ["identity.train"] = true}

-- What differs between groups (their first runs): a list of {path = p,
-- values = {value of group 1, ...}} for every path with more than one value.
local function differences(groups)
  local paths = {"task"}
  for _, field in ipairs{"config", "fit_options", "identity"} do
    local ks = {}
    for _, g in ipairs(groups) do
      local t = g.runs[1][field]
      if type(t) == "table" then
        for k in pairs(t) do
          if not PER_SEED[field .. "." .. tostring(k)] then ks[k] = true end
        end
      end
    end
    for _, k in ipairs(util.sorted_keys(ks)) do paths[#paths + 1] = field .. "." .. tostring(k) end
  end
  -- a file all of them read, as other contents
  local firsts = {}
  for i, g in ipairs(groups) do firsts[i] = g.runs[1] end
  local reads = common_reads(firsts)
  for _, p in ipairs(reads) do paths[#paths + 1] = "read:" .. p end
  local out = {}
  for _, p in ipairs(paths) do
    local vals, seen, n = {}, {}, 0
    for i, g in ipairs(groups) do
      vals[i] = get(g.runs[1], p)
      local c = util.canonical(vals[i])
      if not seen[c] then seen[c] = true; n = n + 1 end
    end
    if n > 1 then out[#out + 1] = {path = p, values = vals} end
  end
  -- fit_options.epochs beside config.epochs, each group the same value: said
  -- once ("[epochs=2, fit_options.epochs=2]" took two of the 4 places shown)
  local at = {}
  for _, d in ipairs(out) do at[d.path] = d end
  for i = #out, 1, -1 do
    local c = at["config." .. (out[i].path:match("^fit_options%.(.+)$") or "\0")]
    if c and util.canonical(c.values) == util.canonical(out[i].values) then
      table.remove(out, i)
    end
  end
  return out
end

local max_shown = 4

-- Splits records recs as a table would (see split), for M.export_key.
function M.pool(recs)
  for _, r in ipairs(recs) do split_key[r] = nil end
  split(recs)
end

-- An export's group_key column: M.key_of, and a run with a hook that cannot
-- be identified alone (a file's rows may come from several runs of its task).
function M.export_key(r)
  local k = M.key_of(r)
  if unidentified(r) and not k:find("+run:", 1, true) then
    k = k .. "+run:" .. tostring(r.hash)
  end
  return k
end

-- nil when runs rs are seeds of one configuration, else a text saying what
-- differs: "config.epochs 2 vs 10, config.subset {test=500,train=2000} vs none".
function M.mixed(rs)
  local groups = split(rs)
  if #groups < 2 then return nil end
  local parts = {}
  for i, d in ipairs(differences(groups)) do
    if i > max_shown then parts[#parts + 1] = "..."; break end
    local seen, vs = {}, {}
    for gi = 1, #groups do
      local s = show(d.values[gi])
      if not seen[s] then seen[s] = true; vs[#vs + 1] = s end
    end
    parts[#parts + 1] = d.path .. " " .. table.concat(vs, " vs ")
  end
  if #parts == 0 then
    -- the keys differ in what the record does not show (hooks, version)
    local ks = {}
    for _, g in ipairs(groups) do ks[#ks + 1] = g.key end
    parts[1] = "group_key " .. table.concat(ks, " vs ")
  end
  return table.concat(parts, ", ")
end

-- Raise at `level` unless names is a plain list: rs:table{"test_accuracy",
-- variant_header = "width"} (call sugar puts the option in the names)
-- dropped the option without a word.
function M.list_only(names, fname, how, level)
  local n = #names
  for k in pairs(names) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      error(string.format("%s: names: key %s is not a list index: names is a list of "
        .. "metric names; options go in the second argument: %s", fname,
        type(k) == "string" and string.format("'%s'", k) or tostring(k), how), level + 1)
    end
  end
end

-- The file each record was read from (wb.runs.load_all), weak: a message
-- about a record names the file to look at, not only the hash it holds.
M.files = setmetatable({}, {__mode = "k"})

-- " from <file> and <file>" for two records of one seed: the files they
-- were read from, when wb.runs.load_all read them ("" for records of
-- ex:run() or a list made by hand, whose files are not known here).
local function files_note(a, b)
  local fa, fb = M.files[a], M.files[b]
  if a == b and fa then return ", both from " .. fa .. ": the same record listed twice" end
  if a == b then return ": the same record listed twice" end
  if fa and fb then return ", from " .. fa .. " and " .. fb end
  return ""
end

-- nil when runs rs are seeds of one configuration, each seed once; else
-- the reason. A record listed twice, or copied from another folder, would
-- count as two seeds and narrow every interval.
function M.not_seeds(rs)
  local why = M.mixed(rs)
  if why then
    return string.format("%d runs are not seeds of one configuration: %s (wb.runs.find "
      .. "labels such groups apart)", #rs, why)
  end
  local at = {}
  for _, r in ipairs(rs) do
    local s = tostring(r.seed)
    if at[s] then
      return string.format("seed %s appears twice (runs %s and %s%s); a seed is counted "
        .. "once", s, tostring(at[s].hash), tostring(r.hash), files_note(at[s], r))
    end
    at[s] = r
  end
end

-- "a=1, b=0.30" labels compare part by part, numbers as numbers, so that
-- l2=1e-05 sorts before l2=0.001.
local function label_less(a, b)
  local pa, pb = {}, {}
  for p in (a .. ","):gmatch("%s*([^,]*),") do pa[#pa + 1] = p end
  for p in (b .. ","):gmatch("%s*([^,]*),") do pb[#pb + 1] = p end
  for i = 1, math.min(#pa, #pb) do
    if pa[i] ~= pb[i] then
      local ka, va = pa[i]:match("^(.-)=(.*)$")
      local kb, vb = pb[i]:match("^(.-)=(.*)$")
      if ka and ka == kb and tonumber(va) and tonumber(vb) then
        return tonumber(va) < tonumber(vb)
      end
      return pa[i] < pb[i]
    end
  end
  return #pa < #pb
end

local function less(labels)
  return function(a, b)
    if a.task ~= b.task then return a.task < b.task end
    if a.variant ~= b.variant then return label_less(a.variant, b.variant) end
    local la, lb = labels[a] or a.variant, labels[b] or b.variant
    if la ~= lb then return label_less(la, lb) end
    if a.seed ~= b.seed then return a.seed < b.seed end
    return a.hash < b.hash
  end
end

-- Labels for the groups of one variant v: "v [k=x, ...]" with what sets
-- each group apart; the group key when that does not tell them apart. Each
-- k=x is a key and value wb.runs.find takes (epochs=2, identity.build=aa,
-- group_key=...): the label says how to find the group; a file read as
-- other contents (read:path=size:hash...) is the exception.
local function group_labels(v, groups, labels)
  local diffs, used = differences(groups), {}
  for gi, g in ipairs(groups) do
    local parts = {}
    for i, d in ipairs(diffs) do
      if i > max_shown then break end
      parts[#parts + 1] = d.path:gsub("^config%.", "") .. "=" .. show(d.values[gi])
    end
    if g.key:find("+run:", 1, true) then -- kept apart by split: say why, not a hash
      parts[#parts + 1] = "seed " .. tostring(g.runs[1].seed) .. ": a hook unidentified"
    end
    local l = v .. " [" .. table.concat(parts, ", ") .. "]"
    if #parts == 0 or used[l] then -- the record's own key: a filter of wb.runs.find too
      parts[#parts + 1] = "group_key=" .. key(g.runs[1])
      l = v .. " [" .. table.concat(parts, ", ") .. "]"
    end
    used[l] = true
    for _, r in ipairs(g.runs) do labels[r] = l end
  end
end

-- Sorts records recs (well-formed: see wb.record.read; read from a
-- folder: a run with an unidentified hook stands alone) by task, variant,
-- seed, and returns labels {record -> label} for the runs of a variant
-- that are not all seeds of one configuration (nil when there are none).
function M.label_apart(recs)
  local labels, any = {}, false
  table.sort(recs, less(labels))
  local by_variant, order = {}, {}
  for _, r in ipairs(recs) do
    if not by_variant[r.variant] then by_variant[r.variant] = {}; order[#order + 1] = r.variant end
    local rs = by_variant[r.variant]
    rs[#rs + 1] = r
  end
  for _, v in ipairs(order) do
    local groups = split(by_variant[v], true)
    if #groups > 1 then any = true; group_labels(v, groups, labels) end
  end
  if not any then return nil end
  table.sort(recs, less(labels))
  return labels
end

return M
