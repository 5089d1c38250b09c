#!/usr/bin/env bash
# Consumer check (run by .ci/run): packs MLNetRank, MLNetRank.Torch and MLNetRank.Simulation from this working tree with a
# fresh version (so no NuGet cache can hand out a stale package), checks what each package carries, then does what
# README's Install section says in a new folder: its `dotnet new` / `dotnet add package` commands (with the packed
# version added to the MLNetRank* lines and the local feed in a NuGet.config), its C# block as Program.cs, and
# `dotnet run`. Fails on any difference. Cleans this version out of the NuGet packages folder afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
version="0.1.0-ci.$(date -u +%Y%m%d%H%M%S).$$"
feed="$root/artifacts/ci/feed"
work="$(mktemp -d /tmp/mlnetrank-consumer.XXXXXX)"
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
cleanup() {
  rm -rf "$work"
  for id in mlnetrank mlnetrank.torch mlnetrank.simulation; do rm -rf "$packages/$id/$version"; done
}
trap cleanup EXIT
rm -rf "$feed" && mkdir -p "$feed"

echo "== packing $version"
for id in MLNetRank MLNetRank.Simulation MLNetRank.Torch; do
  dotnet pack "src/$id/$id.csproj" -c Release -o "$feed" -p:Version="$version" -nologo -v:q
done

echo "== package contents"
for id in MLNetRank MLNetRank.Simulation MLNetRank.Torch; do
  pkg="$feed/$id.$version.nupkg"
  listing="$(unzip -l "$pkg")"
  for f in README.md LICENSE "lib/net10.0/$id.dll" "lib/net10.0/$id.xml"; do
    grep -q " $f\$" <<<"$listing" || { echo "$id: $f missing from the package"; exit 1; }
  done
  [ -f "$feed/$id.$version.snupkg" ] || { echo "$id: no symbol package (.snupkg)"; exit 1; }
  grep -q "lib/net10.0/$id.pdb" <<<"$(unzip -l "$feed/$id.$version.snupkg")" || { echo "$id: no pdb in the .snupkg"; exit 1; }
  nuspec="$(unzip -p "$pkg" "$id.nuspec")"
  grep -q "<readme>README.md</readme>" <<<"$nuspec" || { echo "$id: nuspec has no readme"; exit 1; }
  grep -q "<tags>" <<<"$nuspec" || { echo "$id: nuspec has no tags"; exit 1; }
done
grep -q 'id="MLNetRank"' <<<"$(unzip -p "$feed/MLNetRank.Simulation.$version.nupkg" MLNetRank.Simulation.nuspec)" &&
  { echo "MLNetRank.Simulation must not depend on the core package"; exit 1; }
grep -q "buildTransitive/MLNetRank.Torch.targets" <<<"$(unzip -l "$feed/MLNetRank.Torch.$version.nupkg")" ||
  { echo "MLNetRank.Torch: buildTransitive target (libstdc++ fix) missing"; exit 1; }
echo "ok: readme, LICENSE, dll + XML docs, snupkg with pdb, tags; Simulation without the core; Torch with its buildTransitive target"

echo "== README Install section in a new project ($work)"
# the first ```bash block and the ```csharp block after the install-snippet marker of README's Install section
awk '/^## Install/{s=1} s&&/^```bash/{b=1;next} b&&/^```/{exit} b' README.md > "$work/install.sh"
awk '/install-snippet/{s=1} s&&/^```csharp/{b=1;next} b&&/^```/{exit} b' README.md > "$work/Program.cs"
[ -s "$work/install.sh" ] && [ -s "$work/Program.cs" ] || { echo "README's Install section: commands or C# block not found"; exit 1; }
sed -i -E "s/^(dotnet add package MLNetRank[A-Za-z.]*)\s*$/\1 --version $version/" "$work/install.sh"
cat > "$work/NuGet.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration><packageSources><add key="mlnetrank-packed" value="$feed" /></packageSources></configuration>
XML
cat "$work/install.sh"
(cd "$work" && bash -euo pipefail install.sh)
project="$(find "$work" -mindepth 2 -maxdepth 2 -name '*.csproj' | head -1)"
[ -n "$project" ] || { echo "README's commands made no project"; exit 1; }
cp "$work/Program.cs" "$(dirname "$project")/Program.cs"
(cd "$(dirname "$project")" && dotnet run -c Release) | tee "$work/run.log"
grep -q "first click probabilities: " "$work/run.log" || { echo "the README program did not print its scores"; exit 1; }
echo "consumer check passed ($version)"
