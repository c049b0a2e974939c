"""Model inputs and outputs made from pictures and video: frames, contact sheets of the assets, the recording for video models, interaction videos."""
