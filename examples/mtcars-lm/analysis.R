# Multiple linear regression of fuel economy on weight and horsepower (Motor Trend, 1974).
# Data: R's datasets::mtcars (Henderson and Velleman, 1981), exported to data/mtcars.csv.
# Writes results.csv to $VIAL_OUTPUT_DIR (default /outputs, if it exists) and prints the table.

cars <- read.csv("data/mtcars.csv", row.names = 1)
fit <- lm(mpg ~ wt + hp, data = cars)
table <- coef(summary(fit))
results <- data.frame(
  term = rownames(table),
  estimate = formatC(table[, "Estimate"], digits = 10, format = "g"),
  std_error = formatC(table[, "Std. Error"], digits = 10, format = "g"),
  t = formatC(table[, "t value"], digits = 6, format = "g"),
  p = formatC(table[, "Pr(>|t|)"], digits = 6, format = "g")
)
out_dir <- Sys.getenv("VIAL_OUTPUT_DIR", "/outputs")
if (dir.exists(out_dir)) {
  write.csv(results, file.path(out_dir, "results.csv"), row.names = FALSE, quote = FALSE)
}
cat(sprintf("mtcars lm(mpg ~ wt + hp): n=%d, R^2=%.10f\n", nrow(cars), summary(fit)$r.squared))
print(results, row.names = FALSE)
