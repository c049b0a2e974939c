"""Reports from eval.json files: per model json/csv/md, index.html, the leaderboard, paired comparisons and judge agreement."""
