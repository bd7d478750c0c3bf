// A Vitest reporter that ends the run with one plain line, "vitest: N passed, N failed, N skipped", which CI
// reads as the test count (the default reporter's summary is decorated and split over several lines).
const count = (tasks, totals) => {
  for (const task of tasks) {
    if (task.type === "suite" || task.type === "file") count(task.tasks ?? [], totals)
    else if (task.mode === "skip" || task.mode === "todo") totals.skipped++
    else if (task.result?.state === "pass") totals.passed++
    else if (task.result?.state === "fail") totals.failed++
    else totals.skipped++
  }
  return totals
}

export default class SummaryReporter {
  onFinished(files = [], errors = []) {
    const totals = count(files, { passed: 0, failed: 0, skipped: 0 })
    // A file that failed to load has no tests but must count as a failure.
    const broken = files.filter((f) => f.result?.state === "fail" && (f.tasks ?? []).length === 0).length
    process.stdout.write(`\nvitest: ${totals.passed} passed, ${totals.failed + broken + errors.length} failed, ${totals.skipped} skipped\n`)
  }
}
