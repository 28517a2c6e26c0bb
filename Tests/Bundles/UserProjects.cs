using TrainManager.Components;

namespace TrainManager.Tests.Bundles;

/// <summary>
/// Small training projects of a user's own, built with the .NET SDK against the framework assemblies the tests run
/// (referenced, not copied: as the template's packages are). Each declares a model <c>user-mlp</c> and an extension
/// <c>version-marker</c> that writes the project's version into the run directory, so a test can tell which version
/// of the code a run trained with.
/// </summary>
internal static class UserProjects
{
    public const string Model = "user-mlp";
    public const string Marker = "version-marker";
    public const string MarkerFile = "version.txt";

    /// <summary>Writes and builds project <paramref name="name"/> at <paramref name="version"/> under <paramref name="root"/>.</summary>
    /// <param name="padding">Bytes of an extra file copied beside the assembly (a bundle of a chosen size).</param>
    public static ProjectBuild Build(string root, string name, string version, long padding = 0) =>
        TrainingProject.Build(Write(Path.Combine(root, $"{name}-{version}"), name, version, padding));

    /// <summary>Writes the sources of project <paramref name="name"/> at <paramref name="version"/> into
    /// <paramref name="folder"/>, without building them; returns the folder.</summary>
    public static string Write(string folder, string name, string version, long padding = 0)
    {
        Directory.CreateDirectory(folder);
        var bin = AppContext.BaseDirectory;
        string Reference(string assembly) => $"""
                <Reference Include="{assembly}"><HintPath>{Path.Combine(bin, assembly + ".dll")}</HintPath><Private>false</Private></Reference>
            """;
        File.WriteAllText(Path.Combine(folder, $"{name}.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <AssemblyName>{name}</AssemblyName>
              </PropertyGroup>
              <ItemGroup>
            {Reference("TrainManager.Core")}
            {Reference("TrainManager.Stages")}
            {Reference("TorchSharp")}
              </ItemGroup>
              <ItemGroup>
                <None Include="padding.bin" CopyToOutputDirectory="PreserveNewest" Condition="Exists('padding.bin')" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "Components.cs"), $$"""
            using TorchSharp;
            using TorchSharp.Modules;
            using TrainManager.Components;
            using TrainManager.Stages;
            using static TorchSharp.torch;

            namespace {{name}};

            [Component("{{Model}}", Description = "a small MLP of the user's own")]
            public sealed class UserMlp : nn.Module<Tensor, Tensor>
            {
                private readonly Sequential net;

                public UserMlp([Setting("hidden units")] int hidden = 16) : base("{{Model}}")
                {
                    net = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10));
                    RegisterComponents();
                }

                public override Tensor forward(Tensor input) => net.forward(input);
            }

            [Component("{{Marker}}", Description = "writes the project's version into the run directory")]
            public sealed class VersionMarker(ExtensionContext context) : Extension
            {
                public void PostEpoch(int epoch) =>
                    File.WriteAllText(Path.Combine(context.RunDirectory ?? ".", "{{MarkerFile}}"), "{{version}}");
            }
            """);
        if (padding > 0)
        {
            var bytes = new byte[padding];
            new Random(version.GetHashCode(StringComparison.Ordinal)).NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(folder, "padding.bin"), bytes);
        }
        return folder;
    }

    /// <summary>A cluster experiment that trains <see cref="Model"/> with <see cref="Marker"/> (and, when given, more extensions).</summary>
    public static string Experiment(string name, int epochs = 2, string extraExtensions = "") =>
        Cluster.ClusterNodes.Experiment(epochs: epochs, name: name, extensions: $"{{ type = {Marker} }}{extraExtensions}")
            .Replace("model { type = mlp, args { hidden = [16], dropout = 0.0 } }", $"model {{ type = {Model}, args {{ hidden = 16 }} }}");
}
