-- wb/progress.lua: fit's output with verbose: the live bar on a terminal
-- (formatted at most 10 times a second by the caller) and one line per
-- epoch; and whether a stream is a live terminal at all (M.live), for every
-- writer of cursor codes (fit's bar, the cockpit, the runner's status line).
local _ENV = require "wb.std"
local wb = require "wb"
local M = {}

local floor = math.floor

local function line(p, step, width, eta, loss, acc)
  local done = floor(width * step / p.steps)
  local bar = string.rep("=", done) .. (done < width and ">" or "") ..
    string.rep(".", width - done - 1)
  return string.format("\repoch %d/%d %" .. #tostring(p.steps) .. "d/%d [%s] ETA %3.0fs  "
    .. "loss %.4f  acc %.4f", p.epoch, p.epochs, step, p.steps, bar:sub(1, width), eta, loss, acc)
end

-- State of the live bar; draw() formats only when called (<= 10 Hz). On
-- a terminal narrower than the line (81 characters at 1875 steps an epoch
-- and 10 epochs, over 80 columns) the bar shrinks, then the line is cut:
-- a wrapped line's "\r" goes back to its last row only, and each redraw
-- added a row.
function M.bar_line(p, step, loss_sum, correct, seen, now)
  local elapsed = now - p.t0
  local eta = step > 0 and elapsed / step * (p.steps - step) or 0
  local loss, acc = seen > 0 and loss_sum / seen or 0, seen > 0 and correct / seen or 0
  local s = line(p, step, 24, eta, loss, acc)
  local cols = wb.sys and wb.sys.term_columns and wb.sys.term_columns(1)
  if cols and #s > cols then -- "\r" and cols - 1 characters at most
    s = line(p, step, math.max(8, 24 - (#s - cols)), eta, loss, acc):sub(1, cols)
  end
  return s
end

function M.epoch_line(epoch, epochs, logs)
  local s = {string.format("epoch %d/%d", epoch, epochs),
    string.format("loss %.4f", logs.loss), string.format("acc %.4f", logs.accuracy)}
  if logs.val_loss then
    s[#s + 1] = string.format("val_loss %.4f", logs.val_loss)
    s[#s + 1] = string.format("val_acc %.4f", logs.val_accuracy)
  end
  s[#s + 1] = M.seconds(logs.epoch_time)
  return table.concat(s, "  ")
end

-- An epoch's time: "1.3s", below 0.1 s in milliseconds, "22ms" (tryN 6: a 22 ms
-- epoch printed "0.0s", as if it took no time).
function M.seconds(t)
  return t < 0.1 and string.format("%.0fms", t * 1000) or string.format("%.1fs", t)
end

-- Whether fd (1 = stdout, 2 = stderr) is a terminal that understands cursor
-- codes (\r\27[K, cursor up, clear): a tty whose TERM is set and not
-- "dumb", as most tools decide (an Emacs shell buffer, `TERM=dumb ssh`,
-- cron's empty environment). Otherwise writers print what they print to a
-- file: plain lines, frames one after another. No colour is written
-- anywhere, so NO_COLOR needs nothing here.
function M.live(fd)
  if not (wb.sys and wb.sys.isatty and wb.sys.isatty(fd)) then return false end
  local term = os.getenv("TERM")
  return term ~= nil and term ~= "" and term ~= "dumb"
end

return M
