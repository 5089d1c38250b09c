#!/usr/bin/env bash
# Records the current public API of the src projects in their PublicAPI.Unshipped.txt (RS0016/RS0017 fixes of
# Microsoft.CodeAnalysis.PublicApiAnalyzers). Run after an intended API change; review the diff.
set -euo pipefail
cd "$(dirname "$0")/.."
for p in MLNetRank MLNetRank.Simulation MLNetRank.Torch; do
  dotnet format analyzers "src/$p/$p.csproj" --diagnostics RS0016 RS0017 --severity warn
done
