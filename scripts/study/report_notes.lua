-- study/report_notes.lua: REPORT.md's title and notes on its runs: those that are
-- copies of another task's identical training (wb.train's reused_from), the
-- time spent training and measuring (each sum saying which runs it is
-- over), and the variants whose runs their task stopped as failed.
local M = {}

-- REPORT.md's title line; a --quick report's says it is a smoke test (its
-- figures' titles and task READMEs said so, its own title did not).
function M.title(quick)
  return "# Ten ablations of an MNIST MLP, re-run with several seeds"
    .. (quick and " (QUICK: a smoke test, not the results)" or "")
end

local function n_copies(recs)
  local n = 0
  for _, r in ipairs(recs) do if r.reused_from then n = n + 1 end end
  return n
end

-- " (N of them copies ...)" after "The K runs were trained at commit X": a
-- copy is recorded at the commit that copied it; its training is the donor's.
function M.copies_note(recs)
  local n = n_copies(recs)
  return n > 0 and string.format(" (%d of them %s of an identical training in another "
    .. "task, recorded at that commit)", n, n == 1 and "a copy" or "copies") or ""
end

-- The OpenBLAS kernels runs recs were trained with, "SkylakeX (216)": another
-- sums in another order, so the same runs give other numbers (from the last
-- bits on), and a verdict near its threshold can move with them.
function M.kernels(recs)
  return wb.record.tally(recs, "blas_core")
end

-- The line on time: training summed over the runs trained, the measurements
-- over the same runs (their share of that training) and over the copies.
function M.summary(recs, duration)
  -- A copy of another task's identical training (reused_from) took no training time here
  -- (its train_seconds are its donor's), but its measurements were made anew: both sums say
  -- which runs they are over, and the share is over the runs trained.
  local train_s, measure_s, copy_measure_s, copies = 0, 0, 0, 0
  for _, r in ipairs(recs) do
    if r.reused_from then
      copies = copies + 1
      copy_measure_s = copy_measure_s + (r.measure_seconds or 0)
    else
      train_s = train_s + (r.metrics and r.metrics.train_seconds or 0)
      measure_s = measure_s + (r.measure_seconds or 0)
    end
  end
  return string.format("\n%d runs, %d of them %s of an identical training in "
    .. "another task (same numbers, not trained again). Training time summed over the %d runs "
    .. "trained: %s; the extra measurements behind the claims (gradient noise, sharpness, "
    .. "silenced units, per-epoch norms, dead units) added %s over those runs (%.1f %% of their "
    .. "training time), and %s over the copies (measured anew).\n", #recs, copies,
    copies == 1 and "a copy" or "copies", #recs - copies, duration(train_s), duration(measure_s),
    100 * measure_s / math.max(train_s, 1e-9), duration(copy_measure_s))
end

-- " **(stopped as failed: ...)**" after a variant in the summary table when one of its
-- runs was stopped as failed by its task (task 14's sweep: diverged or dead, its
-- measures.stop): its test loss (45.1 for B=6000 lr=2) stood there like a trained run's.
function M.failed_flag(recs)
  for _, r in ipairs(recs) do
    if type(r.measures) == "table" and r.measures.stop == "failed" then
      return " **(stopped as failed: see its README)**"
    end
  end
  return ""
end

return M
