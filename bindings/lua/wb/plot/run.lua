-- wb/plot/run.lua: files and the gnuplot process for wb.plot.
--
-- Writing files (atomically), creating folders and running gnuplot with a
-- time limit, its stderr captured and its exit status checked. Every
-- shell word is quoted with U.sh. Failures raise error(msg, 0) with a
-- "wb.plot: " message; callers re-raise at their caller's level.
local _ENV = require "wb.std"
local wb = require "wb"
local U = require "wb.plot.util"

local R = {}

local function gnuplot_program(cfg)
  local env = os.getenv("WB_GNUPLOT")
  if not rawget(cfg, "gnuplot") and env == "" then -- was "gnuplot not found (tried '')"
    error("wb.plot: $WB_GNUPLOT is set but empty: unset it (gnuplot is then found on PATH) "
      .. "or set it to the gnuplot program", 0)
  end
  return rawget(cfg, "gnuplot") or env or "gnuplot"
end

R.program = gnuplot_program

-- Children run through wb.sys._spawn, not os.execute: system() ignores
-- SIGINT in this process while the child runs, so a SIGINT sent to the
-- workbench during a render was lost and the script ran on (audit X17).
local function sh_ok(cmd)
  local how, code = wb.sys._spawn({"sh", "-c", cmd}, {stdin = "/dev/null",
    stdout = "/dev/null", stderr = "/dev/null"})
  return how == "exit" and code == 0
end

local have_timeout
-- the words in front of gnuplot's: `timeout` when there is one
local function timeout_argv(cfg)
  if have_timeout == nil then have_timeout = sh_ok("command -v timeout") end
  if not have_timeout then return {} end
  return {"timeout", "-k", "5", tostring(math.tointeger(cfg.timeout) or 60)}
end

local function missing_error(prog)
  return string.format("wb.plot: gnuplot not found (tried %s); install it with "
    .. "`apt-get install gnuplot-nox` (or `make deps`), or point WB_GNUPLOT / "
    .. "wb.plot.gnuplot at it", U.sh(prog))
end

-- Why gnuplot cannot be run (how to install it), nil when it can be: a
-- task says so before its runs train (wb/runner_checks.lua).
function R.missing(cfg)
  local prog = gnuplot_program(cfg)
  if not sh_ok("command -v " .. U.sh(prog)) then
    return missing_error(prog)
  end
end

function R.slurp(path)
  local fh = io.open(path, "rb")
  if not fh then return "" end
  local s = fh:read("a")
  fh:close()
  return s
end

-- A failure of the core, raised again with `prefix` in front of its text:
-- a wb.Error keeps its code and path (so the exit status says the kind).
local function rethrow(prefix, err)
  if wb.is_error(err) then
    error(wb.Error{code = err.code, path = err.path, message = prefix .. tostring(err)}, 0)
  end
  error(prefix .. tostring(err), 0)
end

-- Write text to path atomically (temporary file, fsync, rename).
function R.write_file(path, text)
  local ok, err = pcall(wb.sys.write_atomic, path, text)
  if not ok then rethrow("wb.plot: cannot write " .. path .. ": ", err) end
end

-- Run `gnuplot -c gpname [arg]` inside dir, stdin from /dev/null, stdout to
-- outpath (or nowhere; a path as this process sees it, not from dir),
-- killed after cfg.timeout seconds. cfg.gnuplot (else $WB_GNUPLOT, else
-- "gnuplot") is the program. Raises with gnuplot's first lines of stderr on
-- failure, or with how to install gnuplot when it is missing. A SIGINT or
-- SIGTERM meanwhile stops gnuplot and raises the interrupt (the caller
-- removes what it was writing).
function R.run(dir, gpname, arg, outpath, what, cfg)
  local prog = gnuplot_program(cfg)
  if not sh_ok("command -v " .. U.sh(prog)) then
    error(missing_error(prog), 0)
  end
  local errf = require("wb.util").tmpname()
  local argv = timeout_argv(cfg)
  for _, w in ipairs{prog, "-c", gpname, arg} do argv[#argv + 1] = w end
  local ok, how, code = pcall(wb.sys._spawn, argv, {dir = dir, stdin = "/dev/null",
    stdout = outpath or "/dev/null", stderr = errf})
  if not ok then
    os.remove(errf)
    if not pcall(wb.sys.check_interrupt) then error(how, 0) end -- the interrupt, as it is
    rethrow("wb.plot: cannot run gnuplot for " .. tostring(what) .. ": ", how)
  end
  -- only the head of stderr matters (gnuplot's message comes first); a
  -- flooding program must not become a 10 MB error message
  local fh = io.open(errf, "rb")
  local msg = fh and fh:read(4096) or ""
  if fh then fh:close() end
  os.remove(errf)
  if how == "exit" and code == 0 then return end
  if how == "exit" and code == 127 then error(missing_error(prog), 0) end
  local lines = {}
  for l in msg:gmatch("[^\n]+") do
    if #lines < 6 and l:find("%S") then
      lines[#lines + 1] = #l > 300 and l:sub(1, 300) .. "..." or l
    end
  end
  local why
  if how == "exit" and code == 124 then
    why = string.format("timed out after %d s", math.tointeger(cfg.timeout) or 60)
  else
    why = string.format("failed (%s %d)", how == "signal" and "signal" or "exit", code)
  end
  error(string.format("wb.plot: gnuplot %s on %s/%s (%s): %s", why, dir, gpname, what,
    #lines > 0 and table.concat(lines, "\n") or "(no message)"), 0)
end

-- Why the file at path is not a whole PNG, nil when it is. A gnuplot that
-- exits 0 is not proof: a broken build or a wrapper may write text or half
-- an image, which was renamed over the good figure and listed as drawn.
-- The chunks are walked from the signature (IHDR first, IEND last, nothing
-- after), then the image is decoded (wb.image.load: libpng, every CRC and
-- the compressed data).
function R.png_problem(path)
  local s = R.slurp(path)
  local function bytes(why)
    return string.format("%s (%d byte%s%s)", why, #s, #s == 1 and "" or "s", #s == 0 and ""
      or ', starting "' .. s:sub(1, 24):gsub("[^\32-\126]", function(c)
        return "\\" .. c:byte() end) .. '"')
  end
  if #s == 0 then return bytes("is empty: gnuplot wrote no image") end
  if s:sub(1, 8) ~= "\137PNG\r\n\26\n" then return bytes("is not a PNG") end
  local pos, first, last = 9, nil, nil
  while pos + 8 <= #s + 1 and last ~= "IEND" do
    local len, kind = string.unpack(">I4c4", s, pos)
    first, last, pos = first or kind, kind, pos + 12 + len
  end
  if first ~= "IHDR" then return bytes("is a PNG without its IHDR chunk") end
  if last ~= "IEND" or pos - 1 > #s then return bytes("is a PNG cut short (no IEND chunk)") end
  if pos - 1 < #s then
    return bytes(string.format("is a PNG with %d bytes after its end", #s - pos + 1))
  end
  local ok, err = pcall(wb.image.load, path)
  -- out of memory is this process's failure, not the image's (exit 71)
  if not ok and wb.is_error(err) and err.code == "ENOMEM" then error(err, 0) end
  if not ok then
    return bytes("is a PNG that does not decode: " .. tostring(err):match("[^\n]*"))
  end
end

function R.mkdir_p(dir)
  local ok, err = pcall(wb.sys.mkdir_p, dir)
  if not ok then rethrow("wb.plot: cannot create folder " .. dir .. ": ", err) end
end

return R
