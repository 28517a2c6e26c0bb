using TrainManager.Experiments;
using TorchSharp.Modules;
using TrainManager.Checkpoints;
using TrainManager.Data;
using TrainManager.Models;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Torch;

[Collection(GlobalTorchRandomCollection.Name)]
public sealed class CheckpointStoreTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("tm-ckpt-").FullName;
    readonly ModelRegistry _registry = TestComponents.Catalog.Models;
    readonly ModelSpec _spec = new("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 16 }, ["input"] = 8, ["classes"] = 3 });

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    (ModelInstance Model, OptimizerHelper Optimizer) NewRun(int seed)
    {
        manual_seed(seed);
        var model = _registry.Create(_spec);
        return (model, TestComponents.Catalog.CreateOptimizer(new OptimizerSection { Type = "adam", LearningRate = 0.01 }, model.Module.parameters()));
    }

    static void TrainSteps(ModelInstance model, OptimizerHelper optimizer, int steps)
    {
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var input = randn(5, 8);
            var target = randint(0, 3, [5]);
            nn.functional.cross_entropy(model.Module.call(input), target).backward();
            optimizer.step();
        }
    }

    static float[][] Parameters(ModelInstance model) =>
        model.Module.parameters().Select(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    string SaveTrained(out float[][] parameters, CheckpointMetadata? metadata = null)
    {
        var (model, optimizer) = NewRun(seed: 1);
        using var _ = model;
        using var __ = optimizer;
        TrainSteps(model, optimizer, 3);
        parameters = Parameters(model);
        return new CheckpointStore(_directory).Save(model.Module, optimizer, metadata ?? new CheckpointMetadata(2, 30, model.Spec));
    }

    [Fact]
    public void Loading_restores_parameters_identical_to_those_saved()
    {
        var path = SaveTrained(out var saved);
        var (model, optimizer) = NewRun(seed: 99);
        using var _ = model;
        using var __ = optimizer;
        Assert.NotEqual(saved[0], Parameters(model)[0]);

        new CheckpointStore(_directory).Load(path, model.Module, optimizer);

        Assert.Equal(saved, Parameters(model));
    }

    [Fact]
    public void Training_on_after_loading_matches_training_that_never_stopped()
    {
        // Same parameters, optimizer moments and RNG state: the next steps must agree bit for bit.
        var (reference, referenceOptimizer) = NewRun(seed: 1);
        using var _ = reference;
        using var __ = referenceOptimizer;
        TrainSteps(reference, referenceOptimizer, 3);
        var path = new CheckpointStore(_directory).Save(reference.Module, referenceOptimizer, new CheckpointMetadata(0, 3, reference.Spec));
        TrainSteps(reference, referenceOptimizer, 2);

        var (resumed, resumedOptimizer) = NewRun(seed: 42);
        using var ___ = resumed;
        using var ____ = resumedOptimizer;
        new CheckpointStore(_directory).Load(path, resumed.Module, resumedOptimizer, restoreRng: true);
        TrainSteps(resumed, resumedOptimizer, 2);

        Assert.Equal(Parameters(reference), Parameters(resumed));
    }

    [Fact]
    public void Loading_a_cnn_restores_its_batch_norm_running_statistics_too()
    {
        using var trained = _registry.Create(new ModelSpec("cnn", new Dictionary<string, object?> { ["channels"] = new[] { 4 }, ["hidden"] = 8 }));
        using (var images = randn(6, 1, 28, 28) * 3 + 1)
            trained.Module.call(images).Dispose(); // training mode: updates running mean and variance
        var path = new CheckpointStore(_directory).Save(trained.Module, null, new CheckpointMetadata(0, 1, trained.Spec));
        using var fresh = _registry.Create(trained.Spec);

        new CheckpointStore(_directory).Load(path, fresh.Module);

        var expected = trained.Module.state_dict();
        var actual = fresh.Module.state_dict();
        Assert.Contains(expected.Keys, k => k.Contains("running_mean"));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        Assert.All(expected, kv => Assert.True(kv.Value.equal(actual[kv.Key]).all().item<bool>(), kv.Key));
    }

    [Fact]
    public void Metadata_instantiation_parameters_sampler_and_extension_states_round_trip()
    {
        var spec = _registry.Resolve(_spec);
        var metadata = new CheckpointMetadata(4, 1234, spec, new SamplerState(7, 5, 0), new Dictionary<string, ExtensionState>
        {
            ["plots"] = ExtensionState.FromJson("""{"points":[1,2,3]}"""),
            ["leakage"] = ExtensionState.FromBytes([1, 2, 255]),
        });
        var path = SaveTrained(out _, metadata);

        var info = new CheckpointStore(_directory).ReadInfo(path);

        Assert.Equal((4, 1234L), (info.Metadata.Epoch, info.Metadata.Step));
        Assert.Equal(spec.ToJson(), info.Metadata.Model!.ToJson());
        Assert.Equal(new SamplerState(7, 5, 0), info.Metadata.Sampler);
        Assert.Equal("""{"points":[1,2,3]}""", info.Metadata.Extensions!["plots"].Json);
        Assert.Equal([1, 2, 255], info.Metadata.Extensions["leakage"].Data);
        Assert.True(info.HasOptimizerState && info.HasRngState);
    }

    [Fact]
    public void A_corrupted_checkpoint_is_rejected_by_its_checksum_naming_the_file()
    {
        var path = SaveTrained(out _);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var (model, _) = NewRun(seed: 3);
        using var __ = model;

        var error = Assert.Throws<CheckpointCorruptException>(() => new CheckpointStore(_directory).Load(path, model.Module));

        Assert.Contains(path, error.Message);
        Assert.Contains("SHA-256 checksum does not match", error.Message);
        Assert.Contains("resume from an earlier checkpoint", error.Message);
    }

    [Fact]
    public void A_truncated_checkpoint_is_rejected()
    {
        var path = SaveTrained(out _);
        using (var file = new FileStream(path, FileMode.Open))
            file.SetLength(file.Length - 100);

        Assert.Throws<CheckpointCorruptException>(() => new CheckpointStore(_directory).ReadInfo(path));
    }

    [Fact]
    public void Loading_restores_the_torch_random_generator()
    {
        var path = SaveTrained(out _);
        using var expected = rand(4);
        using var drift = rand(100);
        var (model, _) = NewRun(seed: 5);
        using var __ = model;

        new CheckpointStore(_directory).Load(path, model.Module, restoreRng: true);
        using var actual = rand(4);

        Assert.Equal(expected.data<float>().ToArray(), actual.data<float>().ToArray());
    }

    [Fact]
    public void Saving_leaves_only_the_checkpoint_and_latest_finds_the_newest()
    {
        var (model, optimizer) = NewRun(seed: 1);
        using var _ = model;
        using var __ = optimizer;
        var store = new CheckpointStore(_directory);

        store.Save(model.Module, optimizer, new CheckpointMetadata(0, 10));
        var newest = store.Save(model.Module, optimizer, new CheckpointMetadata(1, 20));

        Assert.Equal(2, Directory.GetFiles(_directory).Length);
        Assert.Equal(newest, store.Latest());
        Assert.EndsWith("epoch-0002-step-000000020.ckpt", newest); // metadata counts epochs from 0, names from 1
    }

    [Fact]
    public void A_sampler_state_written_under_another_world_size_mid_epoch_round_trips()
    {
        var sampler = new SamplerState(7, 5, 11, WorldSize: 3, ShardedFrom: 240);
        var path = SaveTrained(out _, new CheckpointMetadata(5, 99, Sampler: sampler));

        Assert.Equal(sampler, new CheckpointStore(_directory).ReadInfo(path).Metadata.Sampler);
    }

    [Fact]
    public void A_sampler_state_written_before_elastic_resume_reads_as_a_single_worker_from_the_epochs_start()
    {
        var path = Path.Combine(_directory, "legacy" + CheckpointStore.Extension);
        WriteVersion1(path, ("meta", """{"format":1,"epoch":2,"step":40,"sampler":{"seed":7,"epoch":2,"next_batch":4}}"""));

        var sampler = new CheckpointStore(_directory).ReadInfo(path).Metadata.Sampler;

        Assert.Equal(new SamplerState(7, 2, 4, WorldSize: 1, ShardedFrom: 0), sampler);
    }

    /// <summary>A checkpoint file byte by byte as the format describes it, for metadata an older release wrote.</summary>
    static void WriteVersion1(string path, params (string Name, string Json)[] sections)
    {
        using var body = new MemoryStream();
        using (var writer = new BinaryWriter(body, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write("TMCKPT\0\x01"u8);
            foreach (var (name, json) in sections)
            {
                var nameBytes = System.Text.Encoding.UTF8.GetBytes(name);
                var payload = System.Text.Encoding.UTF8.GetBytes(json);
                writer.Write((ushort)nameBytes.Length);
                writer.Write(nameBytes);
                writer.Write((byte)ExtensionStateKind.Json);
                writer.Write((long)payload.Length);
                writer.Write(payload);
            }
            writer.Write((ushort)0);
        }
        var bytes = body.ToArray();
        File.WriteAllBytes(path, [.. bytes, .. System.Security.Cryptography.SHA256.HashData(bytes)]);
    }
}
