-- wb/cockpit.lua: the live cockpit of model:fit{cockpit = ...}: a panel of
-- small plots redrawn in the terminal every N steps (loss, gradient norm,
-- lambda_max against 2/lr, alpha, gradient SNR), after Cockpit's dashboard
-- (Schneider, Dangel, Hennig, NeurIPS 2021). It is not an instrument: it
-- only shows the numbers the instruments (wb/instruments_fit.lua) put into
-- the step logs and history.steps, so it never changes training.
--
-- Cost: with cockpit nil or false fit adds nothing to its callbacks, so the
-- step loop is exactly the one without it. When on, it is a per-step
-- callback placed after every other one (it sees the step's instrument
-- numbers): it appends the step's numbers to its own series and draws one
-- frame every N steps and at the end.
-- Output: frames go to stdout. Text frames (wb/cockpit_text.lua) depend on
-- the numbers only (no timings), so a fixed run gives fixed text. On a
-- terminal a frame replaces the previous one (cursor up, clear down) until
-- an epoch line is printed; elsewhere (a log file, a pipe, TERM=dumb or no
-- TERM: wb/progress.lua's live) frames follow one another. Frames are as
-- wide as the terminal allows (COLUMNS, else its reported width), and the
-- cursor goes up by the rows the last one took, wrapped lines counted.
-- renderer = "gnuplot" draws with gnuplot's dumb terminal (wb.plot:show, a
-- layout made for characters: wb/cockpit_dumb.lua) instead, clearing the
-- screen between frames on a live terminal.
-- No DISPLAY is needed either way. save = "dir/name.png" writes the same
-- series at the end as wb.plot.panels: name.csv (+ one CSV per panel),
-- name.gp and name.png.
local _ENV = require "wb.std"
local wb = require "wb"
local text = require "wb.cockpit_text"
local dumb = require "wb.cockpit_dumb"
local progress = require "wb.progress"

---wb.cockpit
---The live cockpit of model:fit: cockpit = true (a frame every 50 steps), N
---(every N steps) or {every = N, save = "dir/cockpit.png", renderer =
---"text" | "gnuplot"} redraws small plots of loss, gradient norm,
---lambda_max against 2/lr (when hess_max is measured), alpha and gsnr in the
---terminal (no DISPLAY needed); save = "dir/cockpit.png" writes the
---figure and beside it an index cockpit.csv (one row a panel: its title and
---file), one cockpit-N.csv per panel and cockpit.gp, at the end, and when training raises (a divergence, Ctrl-C, an error in
---a step or its hooks: the last frame's head says why, a line on stderr
---names the figure; then fit raises as ever). Without instruments, fit
---turns on wb.cockpit.DEFAULT (loss, grad_norm, alpha, gsnr; alpha only
---under the default cross-entropy, whose losses its fit reads) with fit's
---every (default 1); with instruments it draws those of its five panels they
---measure (loss always), and names the others once on stderr (no panel; their
---numbers are in the history as ever). lambda_max is hess_max, the largest eigenvalue
---(algebraic, as Cockpit); 2/lr is plain gradient descent's stability
---limit, drawn as (2 + 2 beta)/lr with momentum beta ((2 + 2 beta)/((1 +
---2 beta) lr) with Nesterov's), and as "2/lr (reference)" under Adam and
---the others, which it does not bound. Text frames take the terminal's
---width (COLUMNS when set, as most tools) up to 60 plot columns, 77 in all
---(so in a file or a pipe); gnuplot's grow with it; below about 72
---columns header lines wrap, and a redraw replaces the whole last frame
---even where its lines wrapped. Training is unchanged; cockpit = false adds
---no work.
---Example: m:fit(d.train, {optimizer = "sgd", cockpit = {every = 100, save = "plots/cockpit.png"}})
local M = {}

-- The instruments fit turns on for a cockpit when none are given.
M.DEFAULT = {"loss", "grad_norm", "alpha", "gsnr"}
M.EVERY = 50 -- steps between frames for cockpit = true

-- DEFAULT for fit's loss option: without alpha unless the loss is
-- cross-entropy (nil, its names), as alpha's fit reads cross-entropy's losses.
function M._defaults(loss)
  local ce = loss == nil or loss == "cross_entropy" or loss == "sparse_categorical_crossentropy"
  if ce then return M.DEFAULT end
  local out = {}
  for _, n in ipairs(M.DEFAULT) do if n ~= "alpha" then out[#out + 1] = n end end
  return out
end

local KEYS = {"every", "save", "renderer"}

-- The panels, in order: key (the series), the instrument that measures it
-- (nil: always there), title.
local PANELS = {
  {key = "loss", title = "loss"},
  {key = "grad_norm", on = "grad_norm", title = "gradient norm"},
  {key = "hess_max", on = "hess_max", title = "lambda_max vs 2/lr", limit = true},
  {key = "alpha", on = "alpha", title = "alpha (0 = ideal step)", zero = true},
  {key = "gsnr", on = "gsnr", title = "gradient signal-to-noise ratio"},
}

-- {==================== options ====================

-- Checked options of fit's cockpit value: {every, save, renderer}.
-- Errors name the fit option and what was expected.
local function options(v)
  if v == true then return {every = M.EVERY, renderer = "text"} end
  if type(v) == "number" then v = {every = v} end
  if type(v) ~= "table" then
    error("fit: cockpit must be true, false, a number of steps or a table {every, save, "
      .. "renderer}, got " .. tostring(v), 0)
  end
  local known = {}
  for _, k in ipairs(KEYS) do known[k] = true end
  for k in pairs(v) do
    if not known[k] then
      error(string.format("fit: cockpit: unknown option '%s' (valid: %s)", tostring(k),
        table.concat(KEYS, ", ")), 0)
    end
  end
  -- a whole number of steps, as fit's every: 1e3 is 1000 (as
  -- luaL_checkinteger takes it), 2.5 is refused
  local every = v.every == nil and M.EVERY or v.every
  every = math.type(every) == "float" and math.tointeger(every) or every
  if math.type(every) ~= "integer" or every < 1 then
    error("fit: cockpit: every must be a positive integer (steps), got " .. tostring(every), 0)
  end
  if v.save ~= nil and (type(v.save) ~= "string" or not v.save:find("%.png$")) then
    error("fit: cockpit: save must be a path ending in .png, got " .. tostring(v.save), 0)
  end
  local r = v.renderer == nil and "text" or v.renderer
  if r ~= "text" and r ~= "gnuplot" then
    error("fit: cockpit: renderer must be \"text\" or \"gnuplot\", got " .. tostring(r), 0)
  end
  return {every = every, save = v.save, renderer = r}
end

-- }====================
-- {==================== the callback ====================

local Cockpit = {}
Cockpit.__index = Cockpit
Cockpit.__name = "wb.cockpit" -- how a message names it (not "table: 0x...")
Cockpit.__fit_errors = true -- its refusals at the start are fit's own (wb/fit_hooks.lua call_cbs)

-- The callback for fit's cockpit value v (true, N or a table); raises on a
-- bad value. Also used by the runner's --cockpit (wb/cockpit_run.lua).
function M._callback(v)
  local o = options(v)
  return setmetatable({every = o.every, save = o.save, renderer = o.renderer}, Cockpit)
end

local function push(s, x, y)
  local n = #s.x + 1
  s.x[n], s.y[n] = x, y
end

function Cockpit:on_train_begin(model)
  self.model = model
  local h = model.history
  local on = {}
  for _, n in ipairs(h.instruments and h.instruments.names or {}) do on[n] = true end
  self.panels, self.s = {}, {limit = {x = {}, y = {}}}
  local drawn = {loss = true}
  for _, p in ipairs(PANELS) do
    if not p.on or on[p.on] then
      self.panels[#self.panels + 1] = p
      self.s[p.key] = {x = {}, y = {}}
      if p.on then drawn[p.on] = true end
    end
  end
  -- instruments asked for with no panel: said, not left out without a word (tryAA B2:
  -- {"distance"} drew a loss panel alone)
  local none = {}
  for _, n in ipairs(h.instruments and h.instruments.names or {}) do
    if not drawn[n] then none[#none + 1] = n end
  end
  if #none > 0 then
    io.stderr:write(string.format("fit: cockpit: no panel for %s (measured, and kept in the "
      .. "history); the cockpit has panels for loss, grad_norm, hess_max, alpha and gsnr only\n",
      table.concat(none, ", ")))
  end
  self.tty = progress.live(1) -- cursor codes: a terminal, and not TERM=dumb
  self.lines, self.step, self.drawn = 0, nil, nil
  -- the steps of a short batch (an epoch's last): their gradient numbers
  -- (grad_norm, gsnr) are of fewer rows and jump there; marked, not hidden
  local rec = rawget(model, "_fit_record")
  self.short = {steps = {}, full = rec and rec.batch_size}
  self.limit = M._limit(self.ctx and self.ctx.opt and self.ctx.opt:config())
  self:_check_outputs()
end

-- What the cockpit will need, checked before training: gnuplot's frames
-- without gnuplot raised at the first frame (at fit's end when that was the
-- last, the trained model lost), and a save folder that cannot be made was
-- said only when training was done. No gnuplot: text frames, said once.
function Cockpit:_check_outputs()
  local ok, missing = true, nil
  if self.renderer == "gnuplot" then ok, missing = pcall(require("wb.plot.run").missing,
    require("wb.plot")) end
  if not ok or missing then
    io.stderr:write(string.format("fit: cockpit: renderer \"gnuplot\": %s: drawing the frames "
      .. "as text\n", (tostring(missing):gsub("^wb%.plot: ", ""))))
    self.renderer = "text"
  end
  if self.save then
    local dir = self.save:match("^(.*)/[^/]*$")
    local made, err = true, nil
    if dir and dir ~= "" then made, err = pcall(wb.sys.mkdir_p, dir) end
    if not made then
      error(string.format("fit: cockpit: save: %s: %s", self.save,
        (tostring(err):gsub("^[^:\n]*:%d+: ", ""))), 0)
    end
  end
end

-- lambda_max's stability limit for optimizer config cfg: {factor, label},
-- the limit factor / lr. Gradient descent on a quadratic is stable while
-- lr lambda < 2; with Keras's momentum beta, < 2 + 2 beta; with its
-- Nesterov form, < (2 + 2 beta) / (1 + 2 beta). Adam and the others have
-- no such bound: 2/lr is drawn as a reference there, and says so.
function M._limit(cfg)
  local mu = cfg and cfg.name == "sgd" and cfg.momentum or 0
  if cfg and cfg.name ~= "sgd" then return {factor = 2, label = "2/lr (reference)"} end
  if mu == 0 then return {factor = 2, label = "2/lr"} end
  local b = string.format("%g", mu)
  if cfg.nesterov then
    return {factor = (2 + 2 * mu) / (1 + 2 * mu), label = string.format("(2+2*%s)/((1+2*%s)lr)",
      b, b)}
  end
  return {factor = 2 + 2 * mu, label = string.format("(2+2*%s)/lr", b)}
end

function Cockpit:on_train_batch_end(step, logs)
  local s = self.s
  for _, p in ipairs(self.panels) do
    local v = logs[p.key]
    if p.key ~= "alpha" and type(v) == "number" then
      push(s[p.key], step, v)
      if p.limit then push(s.limit, step, (self.limit or M._limit()).factor / logs.lr) end
    end
  end
  self.step, self.epoch, self.lr = step, logs.epoch, logs.lr
  local sh, b = self.short, logs.batch_size
  if sh.full and type(b) == "number" and b < sh.full then
    sh.steps[#sh.steps + 1], sh.rows = step, b
  end
  if step % self.every == 0 then self:_draw() end
end

function Cockpit:on_epoch_end()
  -- fit printed an epoch line below the frame: keep both (not with
  -- verbose = false, where the next frame replaces this one)
  if self.epoch_lines ~= false then self.lines = 0 end
end

function Cockpit:on_train_end()
  if self.step and self.drawn ~= self.step then self:_draw() end
  if not self.save then return end
  -- a figure that cannot be drawn (no gnuplot, a full disk) costs the
  -- figure, said on stderr, never the fit: its history is the result
  local ok, err = pcall(self._save, self, self.save)
  if not ok then
    if not pcall(wb.sys.check_interrupt) then self:_interrupted() end
    io.stderr:write(string.format("fit: cockpit: %s not drawn: %s\n", self.save,
      (tostring(err):gsub("^[^:\n]*:%d+: ", ""))))
  end
end

-- A SIGINT or SIGTERM while on_train_end drew the figure stops the script,
-- said as what it stopped: not an epoch (training had ended: fit's message
-- said "fit stopped in epoch 2"), but the figure, the PNG not written and
-- whether the gnuplot script that draws it was (it is written after the CSVs).
function Cockpit:_interrupted()
  local what = "while drawing the cockpit's figure " .. self.save
  if self.ctx then self.ctx.after_training = what end
  local gp = self.save:gsub("%.png$", ".gp")
  io.stderr:write(string.format("fit: cockpit: interrupted %s, after training ended: the PNG "
    .. "is not written; %s\n", what, wb.sys.exists(gp) and string.format("its CSVs and %s "
    .. "are (gnuplot %s draws it)", gp, gp) or "nor is its gnuplot script"))
  wb.sys.check_interrupt()
end

-- fit's training raised err (a divergence, Ctrl-C, a layer's or a hook's
-- error) after `self.step` steps: the last frame, headed by why, and the
-- figure of save, said on stderr; never an error of its own (err is what
-- fit raises). newline: fit ended its live bar's line, a row further down.
function Cockpit:_failed(err, newline)
  if not self.step then return end -- no step done: nothing to show
  if newline and self.lines > 0 then self.lines = self.lines + 1 end
  local why = (tostring(type(err) == "table" and (err.message or err) or err)
    :gsub("^[^:\n]*:%d+: ", ""):match("^[^\n]*"))
  -- Ctrl-C is said as such, not as where the signal found training ("layer
  -- 2 (Dense 128->10): interrupted!" read as a layer's error)
  if why:find("interrupted!$") then why = "interrupted (Ctrl-C or SIGTERM)" end
  pcall(self._draw, self, "stopped: " .. why)
  if not self.save then return end
  local ok, e = pcall(self._save, self, self.save, "cockpit (stopped at step " .. self.step .. ")")
  io.stderr:write(string.format("fit: cockpit: %s\n", ok and string.format("the series up to "
    .. "step %d written to %s (training stopped: %s)", self.step, self.save, why)
    or string.format("%s not drawn: %s", self.save, (tostring(e):gsub("^[^:\n]*:%d+: ", "")))))
end

-- Writes the series so far as path (.png) with its .csv and .gp, under
-- title; raises as wb.Plot:save does. Also the runner's --cockpit
-- (wb/cockpit_run.lua).
function Cockpit:_save(path, title)
  return M.figure(self:_panels(), self.model.history, title, self.short):save(path)
end

-- Alpha is measured one step late (it needs the next step's batch), so it
-- is read from history.steps, where the instrument writes it: this fit's
-- steps only, as the other series (a resumed fit's history holds the
-- saved fit's).
function Cockpit:_alpha()
  local st, s, x0 = self.model.history.steps, {x = {}, y = {}}, self.s.loss.x[1]
  local a = st and st.alpha
  if a and x0 then
    for r = 1, #a do
      if st.step[r] >= x0 then push(s, st.step[r], a[r]) end
    end
  end
  return s
end

-- The panels with their series: {title, key, series = {{x, y, mark}}}.
function Cockpit:_panels()
  local out = {}
  for _, p in ipairs(self.panels) do
    local s = p.key == "alpha" and self:_alpha() or self.s[p.key]
    local series = {{x = s.x, y = s.y, mark = "*", label = p.key}}
    if p.limit then
      series[2] = {x = self.s.limit.x, y = self.s.limit.y, mark = "-",
        label = (self.limit or M._limit()).label}
    end
    local title = p.limit and ("lambda_max vs " .. series[2].label) or p.title
    out[#out + 1] = {title = title, key = p.key, zero = p.zero, series = series}
  end
  return out
end

-- The terminal's width in characters: COLUMNS when set (as Python's
-- shutil.get_terminal_size), else the terminal's own, else nil (a file or a
-- pipe: frames WIDTH plot columns wide, gnuplot's dumb_size).
local function columns(tty)
  local c = math.tointeger(tonumber(os.getenv("COLUMNS") or ""))
  if c and c > 0 then return c end
  return tty and wb.sys.term_columns and wb.sys.term_columns(1) or nil
end

function Cockpit:_draw(why)
  self.drawn = self.step
  local cols = columns(self.tty)
  local head = string.format("cockpit: step %d, epoch %d, lr %.4g%s", self.step, self.epoch,
    self.lr, why and ", " .. why or "")
  local panels = self:_panels()
  local out = io.stdout
  if self.renderer == "gnuplot" then
    if self.tty then out:write("\r\27[K\27[H\27[J") end
    out:write(head, "\n")
    out:flush()
    local x0 = self.s.loss.x[1] or 1
    local marks = text.short_in(self.short, x0, self.step) -- as the text frame's "^"
    local fig, size = dumb.figure(panels, x0, self.step, cols, marks)
    fig:show{width = size[1], height = size[2]}
    if #marks > 0 then out:write(text.short_note(self.short), "\n"); out:flush() end
    return
  end
  local frame = text.frame(head, panels, self.s.loss.x[1] or 1, self.step,
    cols and text.width(cols), nil, self.short)
  if self.tty then
    -- up by the rows the last frame took: its lines wrapped where wider
    -- than the terminal (the window may have shrunk since)
    out:write("\r\27[K", self.lines > 0 and string.format("\27[%dA\27[J", self.lines) or "")
    local _, n = frame:gsub("\n", "")
    local term = wb.sys.term_columns and wb.sys.term_columns(1)
    self.lines = term and text.rows(frame, term) or n
  end
  out:write(frame)
  out:flush()
end

-- }====================
-- the figure (wb.cockpit.figure): wb/cockpit_figure.lua
M.figure = require("wb.cockpit_figure").figure

wb.cockpit = M
return M
