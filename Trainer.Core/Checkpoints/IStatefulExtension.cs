namespace TrainManager.Checkpoints;

/// <summary>An extension whose state is saved with every checkpoint and restored on resume
/// (keyed by the extension's name), so a resumed run continues where it stopped.</summary>
public interface IStatefulExtension
{
    ExtensionState SaveState();
    void LoadState(ExtensionState state);
}
