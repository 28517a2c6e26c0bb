using System.Security.Cryptography;
using TorchSharp.Modules;
using TrainManager.Checkpoints;
using TrainManager.Experiments;
using TrainManager.Models;
using TrainManager.Training;
using static TorchSharp.torch;

namespace TrainManager.Tests.Torch;

/// <summary>A store with a key signs its checkpoints and loads only what verifies under that key.</summary>
[Collection(GlobalTorchRandomCollection.Name)]
public sealed class CheckpointAuthenticationTests : IDisposable
{
    readonly string _directory = TestDirectory.Create("ckpt-mac");
    readonly CheckpointKey _key = new(RandomNumberGenerator.GetBytes(CheckpointKey.Length));
    readonly ModelSpec _spec = new("mlp", new Dictionary<string, object?> { ["hidden"] = new[] { 16 }, ["input"] = 8, ["classes"] = 3 });

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    ModelInstance NewModel(int seed)
    {
        manual_seed(seed);
        return TestComponents.Catalog.Models.Create(_spec);
    }

    static float[][] Parameters(ModelInstance model) =>
        model.Module.parameters().Select(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    string Save(CheckpointKey? key, out float[][] parameters)
    {
        using var model = NewModel(seed: 1);
        using var optimizer = TestComponents.Catalog.CreateOptimizer(new OptimizerSection { Type = "adam", LearningRate = 0.01 }, model.Module.parameters());
        parameters = Parameters(model);
        return new CheckpointStore(_directory, key).Save(model.Module, optimizer, new CheckpointMetadata(0, 4, model.Spec));
    }

    [Fact]
    public void A_signed_checkpoint_loads_under_its_key_with_the_weights_it_was_saved_with()
    {
        var path = Save(_key, out var saved);
        using var model = NewModel(seed: 2);

        var info = new CheckpointStore(_directory, _key).Load(path, model.Module);

        Assert.Equal(saved, Parameters(model));
        Assert.Equal(4, info.Metadata.Step);
        new CheckpointStore(_directory, _key).Verify(path);
    }

    [Fact]
    public void A_checkpoint_whose_weight_was_edited_and_SHA_256_recomputed_is_refused_as_modified()
    {
        var path = Save(_key, out var saved);
        CheckpointTampering.EditWeightAndRehash(path);
        using var model = NewModel(seed: 2);
        // The checksum alone is fooled: a store without a key loads the edited weights.
        new CheckpointStore(_directory).Load(path, model.Module);
        Assert.NotEqual(saved, Parameters(model));

        var error = Assert.Throws<CheckpointAuthenticationException>(() => new CheckpointStore(_directory, _key).Load(path, model.Module));

        Assert.Contains($"Checkpoint {path} cannot be trusted: its MAC does not verify under this cluster's checkpoint key: it was modified after it was written", error.Message);
        Assert.Contains("It was not loaded.", error.Message);
        Assert.IsAssignableFrom<IBadInput>(error);
        Assert.Throws<CheckpointAuthenticationException>(() => new CheckpointStore(_directory, _key).ReadInfo(path));
        Assert.Throws<CheckpointAuthenticationException>(() => new CheckpointStore(_directory, _key).Verify(path));
    }

    [Fact]
    public void A_checkpoint_signed_with_another_key_is_refused_naming_both_key_ids()
    {
        var other = new CheckpointKey(RandomNumberGenerator.GetBytes(CheckpointKey.Length));
        var path = Save(other, out _);
        using var model = NewModel(seed: 2);

        var error = Assert.Throws<CheckpointAuthenticationException>(() => new CheckpointStore(_directory, _key).Load(path, model.Module));

        Assert.Contains($"it was signed with another cluster secret (key id {other.Id}; this one's is {_key.Id})", error.Message);
        Assert.Contains("TRAINMANAGER_SECRET_FILE", error.Message);
    }

    [Fact]
    public void An_unsigned_checkpoint_is_refused_under_a_key_unless_unsigned_ones_are_accepted_explicitly()
    {
        var path = Save(key: null, out var saved);
        using var model = NewModel(seed: 2);

        var error = Assert.Throws<CheckpointAuthenticationException>(() => new CheckpointStore(_directory, _key).Load(path, model.Module));
        Assert.Contains("it carries no MAC", error.Message);
        Assert.Contains("--accept-unsigned-checkpoints", error.Message);
        Assert.Contains("trainmanager.security.accept-unsigned-checkpoints = on", error.Message);

        new CheckpointStore(_directory, new CheckpointKey(RandomNumberGenerator.GetBytes(CheckpointKey.Length)) { AcceptUnsigned = true })
            .Load(path, model.Module);
        Assert.Equal(saved, Parameters(model));
    }

    [Fact]
    public void A_signed_checkpoint_stripped_of_its_MAC_is_refused_as_unsigned()
    {
        var path = Save(_key, out _);
        CheckpointTampering.StripSignature(path);
        new CheckpointStore(_directory).Verify(path); // a well-formed unsigned file

        var error = Assert.Throws<CheckpointAuthenticationException>(() => new CheckpointStore(_directory, _key).Verify(path));

        Assert.Contains("it carries no MAC", error.Message);
    }

    [Fact]
    public void A_store_without_a_key_reads_a_signed_checkpoint_by_its_checksum()
    {
        var path = Save(_key, out var saved);
        using var model = NewModel(seed: 2);

        new CheckpointStore(_directory).Load(path, model.Module);

        Assert.Equal(saved, Parameters(model));
    }
}
