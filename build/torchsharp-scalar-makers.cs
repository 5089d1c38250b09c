#:package Microsoft.CodeAnalysis.CSharp
#:property ImplicitUsings=enable
#:property Nullable=enable
#:property TreatWarningsAsErrors=false

// Lists the TorchSharp members that create a temporary TorchSharp.Scalar themselves (an implicit or explicit conversion
// of a number to Scalar in their body, e.g. Tensor.add(Tensor) is add(target, 1)), directly or by calling another member
// of the list (static calls; virtual overrides are not followed). The output is
// tests/MLNetRank.Torch.Tests/Reliability/TorchSharpScalarMakers.txt, read by ScalarLifetimeGuardTests: regenerate it
// when TorchSharp is upgraded.
//
//   dotnet run build/torchsharp-scalar-makers.cs -- <TorchSharp checkout>/src/TorchSharp <folder with Google.Protobuf.dll,
//       ICSharpCode.SharpZipLib.dll, SkiaSharp.dll (e.g. tests/MLNetRank.Torch.Tests/bin/Release/net10.0)> <output file> [label]
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: torchsharp-scalar-makers.cs <src/TorchSharp> <reference folder> <output> [label]");
    return 2;
}
string src = args[0], refdir = args[1], outp = args[2], label = args.Length > 3 ? args[3] : src;
var files = Directory.GetFiles(src, "*.cs", SearchOption.AllDirectories)
    .Where(f => !f.Contains("/TorchVision/") && !f.EndsWith("netstandard.cs") && !f.Contains("/obj/")).ToList();
var parse = new CSharpParseOptions(LanguageVersion.Latest, preprocessorSymbols: new[] { "NET6_0_OR_GREATER", "NET8_0_OR_GREATER", "NETCOREAPP" });
var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f)).ToList();
var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
    .Where(p => p.EndsWith(".dll") && !Path.GetFileName(p).StartsWith("Microsoft.CodeAnalysis") && !Path.GetFileName(p).StartsWith("torchsharp-scalar-makers"))
    .Concat(new[] { "Google.Protobuf.dll", "ICSharpCode.SharpZipLib.dll", "SkiaSharp.dll" }.Select(n => Path.Combine(refdir, n)))
    .Select(p => MetadataReference.CreateFromFile(p)).ToList();
var comp = CSharpCompilation.Create("TorchSharp", trees, refs,
    new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
// (TorchSharp's Torch.cs has #error lines for its build-time version constants: those few errors do not affect binding)
var scalar = comp.GetTypeByMetadataName("TorchSharp.Scalar") ?? throw new InvalidOperationException("TorchSharp.Scalar not found");
var direct = new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default);
var calls = new Dictionary<IMethodSymbol, HashSet<IMethodSymbol>>(SymbolEqualityComparer.Default);
foreach (var t in trees)
{
    var model = comp.GetSemanticModel(t);
    foreach (var decl in t.GetRoot().DescendantNodes().Where(n => n is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax
                 || n is ArrowExpressionClauseSyntax { Parent: PropertyDeclarationSyntax or IndexerDeclarationSyntax }))
    {
        var m = decl is ArrowExpressionClauseSyntax a ? (model.GetDeclaredSymbol(a.Parent!) as IPropertySymbol)?.GetMethod : model.GetDeclaredSymbol(decl) as IMethodSymbol;
        if (m is null || m.Name == "ToScalar" || (m.MethodKind == MethodKind.Conversion && SymbolEqualityComparer.Default.Equals(m.ReturnType, scalar)))
            continue;
        var op = model.GetOperation(decl);
        if (op is null)
            continue;
        var cs = calls.TryGetValue(m, out var c0) ? c0 : calls[m] = new(SymbolEqualityComparer.Default);
        foreach (var o in op.DescendantsAndSelf())
        {
            if (o is IConversionOperation { OperatorMethod: not null } conv && SymbolEqualityComparer.Default.Equals(conv.Type, scalar)
                && conv.Operand.Type is { } from && !SymbolEqualityComparer.Default.Equals(from, scalar) && from.SpecialType != SpecialType.System_Object)
                direct.Add(m);
            IMethodSymbol? target = o switch
            {
                IInvocationOperation i => i.TargetMethod,
                IBinaryOperation b => b.OperatorMethod,
                IUnaryOperation u => u.OperatorMethod,
                IObjectCreationOperation oc => oc.Constructor,
                IPropertyReferenceOperation pr => pr.Property.GetMethod,
                ICompoundAssignmentOperation ca => ca.OperatorMethod,
                _ => null,
            };
            if (target is not null)
                cs.Add(target.OriginalDefinition);
        }
    }
}
var makers = new HashSet<IMethodSymbol>(direct, SymbolEqualityComparer.Default);
for (bool changed = true; changed;)
{
    changed = false;
    foreach (var (m, cs) in calls)
        if (!makers.Contains(m) && cs.Any(makers.Contains))
            changed = makers.Add(m) | changed;
}
using var w = new StreamWriter(outp);
w.WriteLine("# TorchSharp members that create a temporary Scalar internally (an implicit conversion from a number, e.g.");
w.WriteLine("# Tensor.add(Tensor) is add(target, 1)), directly or through another member of this list (static calls; virtual");
w.WriteLine("# overrides not followed). Generated by build/torchsharp-scalar-makers.cs from " + label + ".");
w.WriteLine("# Read by ScalarLifetimeGuardTests; regenerate when TorchSharp is upgraded. One documentation-comment ID per line.");
foreach (var id in makers.Select(m => m.GetDocumentationCommentId()!).OrderBy(x => x, StringComparer.Ordinal))
    w.WriteLine(id);
Console.Error.WriteLine($"{direct.Count} members convert a number to a Scalar themselves; {makers.Count} with their callers");
return 0;
