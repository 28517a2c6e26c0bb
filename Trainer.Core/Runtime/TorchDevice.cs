using System.Globalization;
using TorchSharp;

namespace TrainManager.Runtime;

/// <summary>Raised when an experiment asks for a device this process cannot use.</summary>
public sealed class DeviceUnavailableException(string message) : Exception(message), Experiments.IBadInput;

/// <summary>Parses the device names experiments use: "cpu", "cuda" (= cuda:0) and "cuda:N".</summary>
public static class TorchDevice
{
    /// <exception cref="ArgumentException">The name is not one of the accepted forms.</exception>
    /// <exception cref="DeviceUnavailableException">CUDA was asked for but is unavailable, or N is out of range.</exception>
    public static torch.Device Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var spec = name.Trim().ToLowerInvariant();
        if (spec == "cpu")
            return torch.CPU;

        int index;
        if (spec == "cuda")
            index = 0;
        else if (spec.StartsWith("cuda:", StringComparison.Ordinal)
                 && int.TryParse(spec.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out index))
        { }
        else
            throw new ArgumentException($"Unknown device '{name}'. Use \"cpu\", \"cuda\" or \"cuda:N\" (N = GPU index, from 0).", nameof(name));

        TorchRuntime.EnsureLoaded();
        if (!torch.cuda.is_available())
            throw new DeviceUnavailableException(
                $"Device '{name}' was requested but CUDA is not available in this process. Either set the device to \"cpu\", " +
                "or run on a machine with an NVIDIA GPU and driver, built with the CUDA backend (dotnet build -p:TorchBackend=cuda).");
        int count = torch.cuda.device_count();
        if (index >= count)
            throw new DeviceUnavailableException(
                $"Device '{name}' was requested but this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1}).");
        return torch.device(DeviceType.CUDA, index);
    }
}
